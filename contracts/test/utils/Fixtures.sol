// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LoanTerms} from "../../src/LoanTerms.sol";
import {ILoanTermsConsumer} from "../../src/interfaces/ILoanTermsConsumer.sol";
import {OracleHub} from "../../src/OracleHub.sol";
import {TestBase} from "./Vm.sol";

/// @notice A hub with one registered node, and helpers to make and fulfil requests.
abstract contract HubFixture is TestBase {
    OracleHub internal hub;
    address internal constant OWNER = address(0xA11CE);
    address internal constant REQUESTER = address(0xB0B);
    address internal constant TRANSMITTER = address(0x7A7A);
    bytes32 internal constant NODE_KEY = keccak256("node ed25519 public key");
    bytes32 internal constant MODEL_ID = keccak256("model");
    uint64 internal constant TIMEOUT = 1 hours;
    bytes internal constant TEXT = "Lender lends Borrower USD 180,000 at 6.25% per annum for 15 years.";

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        hub = new OracleHub(OWNER, TIMEOUT);
        vm.prank(OWNER);
        hub.addNode(NODE_KEY, TRANSMITTER);
        vm.deal(REQUESTER, 10 ether);
    }

    function okTerms() internal pure returns (LoanTerms memory terms) {
        terms.status = 1;
        terms.amountMinor = 18_000_000;
        terms.currency = bytes8("USD");
        terms.decimals = 2;
        terms.aprPpm = 62_500;
        terms.termDays = 5475;
        terms.riskTier = 1;
        terms.riskScore = 12;
        terms.evidence = [uint32(22), 29, 18, 21, 33, 38, 52, 60];
    }

    function signature() internal pure returns (bytes memory) {
        return abi.encodePacked(keccak256("r"), keccak256("s"));
    }

    function request(address consumer, uint32 gasLimit) internal returns (uint256) {
        vm.prank(REQUESTER);
        return hub.requestTerms(TEXT, consumer, gasLimit);
    }

    function fulfill(uint256 requestId) internal {
        vm.prank(TRANSMITTER);
        hub.fulfill(requestId, okTerms(), MODEL_ID, signature());
    }
}

/// @notice Records what it was called with and the gas it got.
contract RecordingConsumer is ILoanTermsConsumer {
    uint256 public calls;
    uint256 public lastRequestId;
    uint256 public lastAmountMinor;
    uint256 public gasAtEntry;

    function onLoanTerms(uint256 requestId, LoanTerms calldata terms) external {
        gasAtEntry = gasleft();
        calls++;
        lastRequestId = requestId;
        lastAmountMinor = terms.amountMinor;
    }
}

/// @notice Always reverts with a custom error.
contract RevertingConsumer is ILoanTermsConsumer {
    error Nope(uint256 requestId);

    function onLoanTerms(uint256 requestId, LoanTerms calldata) external pure {
        revert Nope(requestId);
    }
}

/// @notice Burns every bit of gas it is given.
contract GasHungryConsumer is ILoanTermsConsumer {
    uint256 public sink;

    function onLoanTerms(uint256, LoanTerms calldata) external {
        while (true) {
            sink++;
        }
    }
}

/// @notice Reverts with far more data than the hub keeps.
contract LoudConsumer is ILoanTermsConsumer {
    function onLoanTerms(uint256, LoanTerms calldata) external pure {
        bytes memory noise = new bytes(10_000);
        assembly {
            revert(add(noise, 0x20), mload(noise))
        }
    }
}

/// @notice A registered transmitter that, when called back, tries to re-enter the hub: fulfil
/// another request, withdraw, cancel. Records the revert data it got for each.
contract ReentrantConsumer is ILoanTermsConsumer {
    OracleHub public immutable hub;
    uint256 public otherRequestId;
    bytes public fulfillError;
    bytes public withdrawError;
    bytes public cancelError;

    constructor(OracleHub hub_) {
        hub = hub_;
    }

    function setOtherRequest(uint256 requestId) external {
        otherRequestId = requestId;
    }

    function onLoanTerms(uint256, LoanTerms calldata terms) external {
        try hub.fulfill(otherRequestId, terms, bytes32(0), new bytes(64)) {}
        catch (bytes memory err) {
            fulfillError = err;
        }
        try hub.withdraw() {}
        catch (bytes memory err) {
            withdrawError = err;
        }
        try hub.cancel(otherRequestId) {}
        catch (bytes memory err) {
            cancelError = err;
        }
    }
}
