// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LoanTerms} from "../src/LoanTerms.sol";
import {OracleHub} from "../src/OracleHub.sol";
import {
    HubFixture,
    RecordingConsumer,
    RevertingConsumer,
    GasHungryConsumer,
    LoudConsumer,
    ReentrantConsumer
} from "./utils/Fixtures.sol";
import {Vm} from "./utils/Vm.sol";

contract OracleHubRequestTest is HubFixture {
    RecordingConsumer internal consumer;

    function setUp() public override {
        super.setUp();
        consumer = new RecordingConsumer();
    }

    function test_requestTerms_storesRequestAndEmits() public {
        vm.expectEmit(true, true, true, true);
        emit OracleHub.TermsRequested(1, REQUESTER, address(consumer), keccak256(TEXT), TEXT, 100_000);
        uint256 id = request(address(consumer), 100_000);
        vm.assertEq(id, 1, "first id");
        (
            address requester,,
            OracleHub.RequestState state,
            address storedConsumer,
            uint32 gasLimit,,
            bytes32 textHash
        ) = hub.requests(id);
        vm.assertEq(requester, REQUESTER, "requester");
        vm.assertEq(uint256(state), uint256(OracleHub.RequestState.Pending), "state");
        vm.assertEq(storedConsumer, address(consumer), "consumer");
        vm.assertEq(gasLimit, 100_000, "gas limit");
        vm.assertEq(textHash, keccak256(TEXT), "text hash");
        vm.assertEq(request(address(consumer), 0), 2, "ids increase");
    }

    function test_requestTerms_rejectsEmptyText() public {
        vm.expectRevert(abi.encodeWithSelector(OracleHub.InvalidTextLength.selector, 0));
        hub.requestTerms("", address(consumer), 100_000);
    }

    function test_requestTerms_acceptsMaxTextAndRejectsOversize() public {
        hub.requestTerms(new bytes(16_384), address(consumer), 100_000);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.InvalidTextLength.selector, 16_385));
        hub.requestTerms(new bytes(16_385), address(consumer), 100_000);
    }

    function test_requestTerms_rejectsTooMuchCallbackGas() public {
        hub.requestTerms(TEXT, address(consumer), 500_000);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.CallbackGasTooHigh.selector, 500_001, 500_000));
        hub.requestTerms(TEXT, address(consumer), 500_001);
    }

    function test_requestTerms_rejectsZeroConsumer() public {
        vm.expectRevert(OracleHub.ZeroConsumer.selector);
        hub.requestTerms(TEXT, address(0), 100_000);
    }

    function test_requestTerms_enforcesFee() public {
        vm.prank(OWNER);
        hub.setRequestFee(0.01 ether);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.FeeTooLow.selector, 0.005 ether, 0.01 ether));
        hub.requestTerms{value: 0.005 ether}(TEXT, address(consumer), 100_000);
        vm.prank(REQUESTER);
        uint256 id = hub.requestTerms{value: 0.02 ether}(TEXT, address(consumer), 100_000);
        (,,,,, uint256 fee,) = hub.requests(id);
        vm.assertEq(fee, 0.02 ether, "overpayment is kept as the fee");
    }
}

contract OracleHubFulfillTest is HubFixture {
    RecordingConsumer internal consumer;

    function setUp() public override {
        super.setUp();
        consumer = new RecordingConsumer();
    }

    function test_fulfill_storesDigestEmitsAndCallsBack() public {
        uint256 id = request(address(consumer), 100_000);
        LoanTerms memory terms = okTerms();
        bytes32 expected = hub.attestationDigestOf(id, keccak256(TEXT), MODEL_ID, terms);
        vm.expectEmit(true, true, true, true);
        emit OracleHub.TermsAttested(id, NODE_KEY, MODEL_ID, expected, signature(), terms);
        fulfill(id);
        vm.assertEq(hub.attestationDigest(id), expected, "stored digest");
        (,, OracleHub.RequestState state,,,,) = hub.requests(id);
        vm.assertEq(uint256(state), uint256(OracleHub.RequestState.Fulfilled), "state");
        vm.assertEq(consumer.calls(), 1, "one callback");
        vm.assertEq(consumer.lastRequestId(), id, "callback id");
        vm.assertEq(consumer.lastAmountMinor(), terms.amountMinor, "callback terms");
    }

    function test_digest_bindsDomainAndEveryField() public {
        uint256 id = request(address(consumer), 100_000);
        LoanTerms memory terms = okTerms();
        bytes32 base = hub.attestationDigestOf(id, keccak256(TEXT), MODEL_ID, terms);
        vm.assertTrue(base != hub.attestationDigestOf(id + 1, keccak256(TEXT), MODEL_ID, terms), "request id");
        vm.assertTrue(base != hub.attestationDigestOf(id, bytes32(0), MODEL_ID, terms), "text hash");
        vm.assertTrue(base != hub.attestationDigestOf(id, keccak256(TEXT), bytes32(0), terms), "model id");
        terms.evidence[7] += 1;
        vm.assertTrue(base != hub.attestationDigestOf(id, keccak256(TEXT), MODEL_ID, terms), "evidence");
        OracleHub other = new OracleHub(OWNER, TIMEOUT);
        vm.assertTrue(hub.domainSeparator() != other.domainSeparator(), "domain binds the hub");
    }

    function test_fulfill_onlyRegisteredTransmitter() public {
        uint256 id = request(address(consumer), 100_000);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotTransmitter.selector, REQUESTER));
        hub.fulfill(id, okTerms(), MODEL_ID, signature());
    }

    function test_fulfill_removedNodeCannotFulfil() public {
        uint256 id = request(address(consumer), 100_000);
        vm.prank(OWNER);
        hub.removeNode(NODE_KEY);
        vm.prank(TRANSMITTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotTransmitter.selector, TRANSMITTER));
        hub.fulfill(id, okTerms(), MODEL_ID, signature());
    }

    function test_fulfill_twiceReverts() public {
        uint256 id = request(address(consumer), 100_000);
        fulfill(id);
        vm.prank(TRANSMITTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.AlreadyFulfilled.selector, id));
        hub.fulfill(id, okTerms(), MODEL_ID, signature());
        vm.assertEq(consumer.calls(), 1, "still one callback");
    }

    function test_fulfill_unknownRequestReverts() public {
        vm.prank(TRANSMITTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.UnknownRequest.selector, 42));
        hub.fulfill(42, okTerms(), MODEL_ID, signature());
    }

    function test_fulfill_rejectsBadSignatureLengthAndTerms() public {
        uint256 id = request(address(consumer), 100_000);
        vm.prank(TRANSMITTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.InvalidSignatureLength.selector, 65));
        hub.fulfill(id, okTerms(), MODEL_ID, new bytes(65));
        LoanTerms memory terms = okTerms();
        terms.status = 4;
        vm.prank(TRANSMITTER);
        vm.expectRevert(OracleHub.InvalidTerms.selector);
        hub.fulfill(id, terms, MODEL_ID, signature());
    }

    function test_fulfill_givesExactCallbackGas() public {
        uint256 id = request(address(consumer), 200_000);
        fulfill(id);
        uint256 gasAtEntry = consumer.gasAtEntry();
        vm.assertLt(gasAtEntry, 200_000, "no more than requested");
        vm.assertGt(gasAtEntry, 200_000 - 2_000, "all but the call's own overhead");
    }

    function test_fulfill_revertsWhenTxGasCannotCoverCallback() public {
        uint256 id = request(address(consumer), 500_000);
        vm.prank(TRANSMITTER);
        vm.expectPartialRevert(OracleHub.InsufficientGasForCallback.selector);
        hub.fulfill{gas: 300_000}(id, okTerms(), MODEL_ID, signature());
        (,, OracleHub.RequestState state,,,,) = hub.requests(id);
        vm.assertEq(uint256(state), uint256(OracleHub.RequestState.Pending), "still pending");
    }

    function test_fulfill_revertingConsumerDoesNotUndo() public {
        RevertingConsumer bad = new RevertingConsumer();
        uint256 id = request(address(bad), 100_000);
        vm.expectEmit(true, true, true, true);
        emit OracleHub.CallbackFailed(id, abi.encodeWithSelector(RevertingConsumer.Nope.selector, id));
        fulfill(id);
        vm.assertTrue(hub.attestationDigest(id) != bytes32(0), "attested");
    }

    function test_fulfill_gasHungryConsumerDoesNotUndo() public {
        GasHungryConsumer hungry = new GasHungryConsumer();
        uint256 id = request(address(hungry), 300_000);
        vm.expectEmit(true, true, true, true);
        emit OracleHub.CallbackFailed(id, "");
        fulfill(id);
        (,, OracleHub.RequestState state,,,,) = hub.requests(id);
        vm.assertEq(uint256(state), uint256(OracleHub.RequestState.Fulfilled), "fulfilled");
    }

    function test_fulfill_capsRevertReason() public {
        LoudConsumer loud = new LoudConsumer();
        uint256 id = request(address(loud), 300_000);
        vm.recordLogs();
        fulfill(id);
        bytes memory reason = abi.decode(_lastLog().data, (bytes));
        vm.assertEq(reason.length, hub.MAX_REASON_BYTES(), "reason capped");
    }

    function test_fulfill_blocksReentrancy() public {
        ReentrantConsumer attacker = new ReentrantConsumer(hub);
        vm.prank(OWNER);
        hub.addNode(keccak256("attacker node"), address(attacker));
        uint256 first = request(address(attacker), 400_000);
        uint256 second = request(address(attacker), 400_000);
        attacker.setOtherRequest(second);
        fulfill(first);
        bytes memory reentrancy = abi.encodeWithSelector(OracleHub.Reentrancy.selector);
        vm.assertEq(attacker.fulfillError(), reentrancy, "fulfil re-entry blocked");
        vm.assertEq(attacker.withdrawError(), reentrancy, "withdraw re-entry blocked");
        vm.assertEq(attacker.cancelError(), reentrancy, "cancel re-entry blocked");
        (,, OracleHub.RequestState state,,,,) = hub.requests(second);
        vm.assertEq(uint256(state), uint256(OracleHub.RequestState.Pending), "second untouched");
    }

    function _lastLog() private returns (Vm.Log memory) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        return logs[logs.length - 1];
    }
}

contract OracleHubFeesTest is HubFixture {
    RecordingConsumer internal consumer;

    function setUp() public override {
        super.setUp();
        consumer = new RecordingConsumer();
        vm.prank(OWNER);
        hub.setRequestFee(0.01 ether);
    }

    function _paidRequest() private returns (uint256) {
        vm.prank(REQUESTER);
        return hub.requestTerms{value: 0.01 ether}(TEXT, address(consumer), 100_000);
    }

    function test_fee_goesToFulfillingNode() public {
        uint256 id = _paidRequest();
        fulfill(id);
        vm.assertEq(hub.withdrawable(TRANSMITTER), 0.01 ether, "credited");
        vm.prank(TRANSMITTER);
        hub.withdraw();
        vm.assertEq(TRANSMITTER.balance, 0.01 ether, "paid out");
        vm.assertEq(hub.withdrawable(TRANSMITTER), 0, "balance cleared");
        vm.prank(TRANSMITTER);
        vm.expectRevert(OracleHub.NothingToWithdraw.selector);
        hub.withdraw();
    }

    function test_cancel_beforeExpiryReverts() public {
        uint256 id = _paidRequest();
        vm.warp(block.timestamp + TIMEOUT - 1);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotExpired.selector, id, 1_700_000_000 + TIMEOUT));
        hub.cancel(id);
    }

    function test_cancel_afterExpiryRefundsAndBlocksFulfil() public {
        uint256 id = _paidRequest();
        uint256 before = REQUESTER.balance;
        vm.warp(block.timestamp + TIMEOUT);
        vm.prank(REQUESTER);
        hub.cancel(id);
        vm.prank(REQUESTER);
        hub.withdraw();
        vm.assertEq(REQUESTER.balance, before + 0.01 ether, "refunded");
        vm.prank(TRANSMITTER);
        vm.expectRevert(
            abi.encodeWithSelector(OracleHub.RequestNotPending.selector, id, OracleHub.RequestState.Cancelled)
        );
        hub.fulfill(id, okTerms(), MODEL_ID, signature());
    }

    function test_cancel_onlyRequester() public {
        uint256 id = _paidRequest();
        vm.warp(block.timestamp + TIMEOUT);
        vm.prank(TRANSMITTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotRequester.selector, TRANSMITTER));
        hub.cancel(id);
    }

    function test_cancel_afterFulfilReverts() public {
        uint256 id = _paidRequest();
        fulfill(id);
        vm.warp(block.timestamp + TIMEOUT);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.AlreadyFulfilled.selector, id));
        hub.cancel(id);
    }
}

contract OracleHubAdminTest is HubFixture {
    function test_addNode_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotOwner.selector, address(this)));
        hub.addNode(keccak256("k"), address(1));
    }

    function test_addNode_rejectsZeroAndDuplicates() public {
        vm.startPrank(OWNER);
        vm.expectRevert(OracleHub.InvalidNode.selector);
        hub.addNode(bytes32(0), address(1));
        vm.expectRevert(OracleHub.InvalidNode.selector);
        hub.addNode(keccak256("k"), address(0));
        vm.expectRevert(
            abi.encodeWithSelector(OracleHub.NodeAlreadyRegistered.selector, NODE_KEY, address(1))
        );
        hub.addNode(NODE_KEY, address(1));
        vm.expectRevert(
            abi.encodeWithSelector(OracleHub.NodeAlreadyRegistered.selector, keccak256("k"), TRANSMITTER)
        );
        hub.addNode(keccak256("k"), TRANSMITTER);
        vm.stopPrank();
    }

    function test_removeNode_unknownReverts() public {
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.UnknownNode.selector, keccak256("k")));
        hub.removeNode(keccak256("k"));
    }

    function test_removeNode_freesTransmitter() public {
        vm.startPrank(OWNER);
        hub.removeNode(NODE_KEY);
        vm.assertEq(hub.nodeKeyOf(TRANSMITTER), bytes32(0), "transmitter freed");
        hub.addNode(keccak256("k"), TRANSMITTER);
        vm.stopPrank();
        vm.assertEq(hub.nodeKeyOf(TRANSMITTER), keccak256("k"), "re-registered");
    }

    function test_setRequestFee_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotOwner.selector, address(this)));
        hub.setRequestFee(1);
    }

    function test_ownership_twoSteps() public {
        address next = address(0xCAFE);
        vm.prank(OWNER);
        hub.transferOwnership(next);
        vm.assertEq(hub.owner(), OWNER, "not yet moved");
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotPendingOwner.selector, address(this)));
        hub.acceptOwnership();
        vm.prank(next);
        hub.acceptOwnership();
        vm.assertEq(hub.owner(), next, "moved");
        vm.assertEq(hub.pendingOwner(), address(0), "offer cleared");
        vm.prank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.NotOwner.selector, OWNER));
        hub.setRequestFee(1);
    }
}
