// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LoanTerms} from "../src/LoanTerms.sol";
import {OracleHub} from "../src/OracleHub.sol";
import {LoanDesk} from "../src/examples/LoanDesk.sol";
import {HubFixture} from "./utils/Fixtures.sol";

contract LoanDeskTest is HubFixture {
    LoanDesk internal desk;
    address internal constant BORROWER = address(0xB022);
    uint256 internal constant USD_LIMIT = 500_000_00;

    function setUp() public override {
        super.setUp();
        desk = new LoanDesk(hub, bytes8("USD"), USD_LIMIT);
    }

    function _apply() private returns (uint256 id) {
        vm.prank(BORROWER);
        id = desk.applyForLoan(TEXT);
    }

    function _deliver(uint256 id, LoanTerms memory terms) private {
        vm.prank(TRANSMITTER);
        hub.fulfill(id, terms, MODEL_ID, signature());
    }

    function _decision(uint256 id)
        private
        view
        returns (LoanDesk.Decision decision, LoanDesk.RejectReason reason)
    {
        (, decision, reason) = desk.applications(id);
    }

    function test_apply_recordsPendingApplication() public {
        vm.expectEmit(true, true, true, true);
        emit LoanDesk.Applied(1, BORROWER);
        uint256 id = _apply();
        (address borrower, LoanDesk.Decision decision,) = desk.applications(id);
        vm.assertEq(borrower, BORROWER, "borrower");
        vm.assertEq(uint256(decision), uint256(LoanDesk.Decision.Pending), "pending");
        (,,, address consumer, uint32 gasLimit,,) = hub.requests(id);
        vm.assertEq(consumer, address(desk), "desk is the consumer");
        vm.assertEq(gasLimit, desk.CALLBACK_GAS(), "desk's gas");
    }

    function test_apply_forwardsFee() public {
        vm.prank(OWNER);
        hub.setRequestFee(0.01 ether);
        vm.deal(BORROWER, 1 ether);
        vm.prank(BORROWER);
        uint256 id = desk.applyForLoan{value: 0.01 ether}(TEXT);
        (,,,,, uint256 fee,) = hub.requests(id);
        vm.assertEq(fee, 0.01 ether, "fee reached the hub");
    }

    function test_callback_approvesAndStoresTerms() public {
        uint256 id = _apply();
        LoanTerms memory terms = okTerms();
        vm.expectEmit(true, true, true, true);
        emit LoanDesk.Approved(id, BORROWER, terms.amountMinor, terms.currency);
        _deliver(id, terms);
        (LoanDesk.Decision decision,) = _decision(id);
        vm.assertEq(uint256(decision), uint256(LoanDesk.Decision.Approved), "approved");
        LoanTerms memory stored = desk.termsOf(id);
        vm.assertEq(keccak256(abi.encode(stored)), keccak256(abi.encode(terms)), "terms stored whole");
    }

    function test_callback_rejectsIncomplete() public {
        LoanTerms memory terms = okTerms();
        terms.status = 2;
        _expectRejected(terms, LoanDesk.RejectReason.NotComplete);
    }

    function test_callback_rejectsHighRisk() public {
        LoanTerms memory terms = okTerms();
        terms.riskTier = 3;
        _expectRejected(terms, LoanDesk.RejectReason.HighRisk);
    }

    function test_callback_rejectsOtherCurrency() public {
        LoanTerms memory terms = okTerms();
        terms.currency = bytes8("EUR");
        _expectRejected(terms, LoanDesk.RejectReason.CurrencyNotLent);
    }

    function test_callback_limitIsInclusive() public {
        LoanTerms memory terms = okTerms();
        terms.amountMinor = USD_LIMIT;
        uint256 id = _apply();
        _deliver(id, terms);
        (LoanDesk.Decision decision,) = _decision(id);
        vm.assertEq(uint256(decision), uint256(LoanDesk.Decision.Approved), "at the limit");
        terms.amountMinor = USD_LIMIT + 1;
        _expectRejected(terms, LoanDesk.RejectReason.OverLimit);
    }

    function test_callback_onlyFromHub() public {
        uint256 id = _apply();
        vm.expectRevert(abi.encodeWithSelector(LoanDesk.NotHub.selector, address(this)));
        desk.onLoanTerms(id, okTerms());
    }

    function test_callback_forUnknownApplicationFailsWithoutUndoingHub() public {
        vm.prank(REQUESTER);
        uint256 id = hub.requestTerms(TEXT, address(desk), 200_000);
        vm.expectEmit(true, true, true, true);
        emit OracleHub.CallbackFailed(id, abi.encodeWithSelector(LoanDesk.UnknownApplication.selector, id));
        _deliver(id, okTerms());
    }

    function test_setLimit_onlyOwner() public {
        vm.prank(BORROWER);
        vm.expectRevert(abi.encodeWithSelector(LoanDesk.NotOwner.selector, BORROWER));
        desk.setLimit(bytes8("EUR"), 1);
        desk.setLimit(bytes8("EUR"), 1);
        vm.assertEq(desk.limitMinor(bytes8("EUR")), 1, "owner sets limits");
    }

    /// @dev The figures for the gas report: a 1 KiB request and a fulfilment with the desk's callback.
    function test_gas_requestOneKibAndFulfilWithDeskCallback() public {
        bytes memory text = new bytes(1024);
        for (uint256 i = 0; i < text.length; i++) {
            text[i] = bytes1(uint8(0x61 + (i % 26)));
        }
        vm.prank(BORROWER);
        uint256 id = desk.applyForLoan(text);
        _deliver(id, okTerms());
        (LoanDesk.Decision decision,) = _decision(id);
        vm.assertEq(uint256(decision), uint256(LoanDesk.Decision.Approved), "approved");
    }

    function _expectRejected(LoanTerms memory terms, LoanDesk.RejectReason expected) private {
        uint256 id = _apply();
        vm.expectEmit(true, true, true, true);
        emit LoanDesk.Rejected(id, BORROWER, expected);
        _deliver(id, terms);
        (LoanDesk.Decision decision, LoanDesk.RejectReason reason) = _decision(id);
        vm.assertEq(uint256(decision), uint256(LoanDesk.Decision.Rejected), "rejected");
        vm.assertEq(uint256(reason), uint256(expected), "reason");
    }
}
