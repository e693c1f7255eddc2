// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LoanTerms} from "../LoanTerms.sol";
import {ILoanTermsConsumer} from "../interfaces/ILoanTermsConsumer.sol";
import {OracleHub} from "../OracleHub.sol";

/// @title LoanDesk
/// @notice An example lender: a borrower applies with the text of a loan; when the oracle's terms
/// arrive the desk approves the loan if it is complete, not high risk, in a currency the desk lends
/// in, and within that currency's limit; otherwise it rejects it.
contract LoanDesk is ILoanTermsConsumer {
    /// @notice Where an application stands.
    enum Decision {
        None,
        Pending,
        Approved,
        Rejected
    }

    /// @notice Why an application was rejected.
    enum RejectReason {
        None,
        NotComplete,
        HighRisk,
        CurrencyNotLent,
        OverLimit
    }

    /// @notice One borrower's application.
    struct Application {
        address borrower;
        Decision decision;
        RejectReason reason;
    }

    uint8 private constant STATUS_OK = 1;
    uint8 private constant TIER_HIGH = 3;

    /// @notice Gas the desk asks the hub to give its callback.
    uint32 public constant CALLBACK_GAS = 250_000;

    /// @notice The hub that delivers terms.
    OracleHub public immutable hub;
    /// @notice The account that sets lending limits.
    address public immutable owner;

    /// @notice Largest principal the desk lends per currency, in minor units (0: not lent).
    mapping(bytes8 currency => uint256) public limitMinor;
    /// @notice Applications by request id.
    mapping(uint256 requestId => Application) public applications;
    mapping(uint256 requestId => LoanTerms) private _terms;

    /// @notice A borrower applied; the oracle will read the text.
    event Applied(uint256 indexed requestId, address indexed borrower);
    /// @notice The loan was approved on these terms.
    event Approved(uint256 indexed requestId, address indexed borrower, uint256 amountMinor, bytes8 currency);
    /// @notice The loan was rejected.
    event Rejected(uint256 indexed requestId, address indexed borrower, RejectReason reason);
    /// @notice The limit for a currency changed.
    event LimitSet(bytes8 indexed currency, uint256 limitMinor);

    /// @notice The caller is not the hub.
    error NotHub(address caller);
    /// @notice The caller is not the owner.
    error NotOwner(address caller);
    /// @notice The request is not one of this desk's pending applications.
    error UnknownApplication(uint256 requestId);

    /// @param hub_ The oracle hub.
    /// @param currency A currency the desk lends in, e.g. bytes8("USD").
    /// @param limit Its largest principal in minor units.
    constructor(OracleHub hub_, bytes8 currency, uint256 limit) {
        hub = hub_;
        owner = msg.sender;
        _setLimit(currency, limit);
    }

    /// @notice Applies for a loan described by `text`; forwards the hub's request fee.
    /// @param text The loan text.
    /// @return requestId The hub's request id, which keys the application.
    function applyForLoan(bytes calldata text) external payable returns (uint256 requestId) {
        requestId = hub.requestTerms{value: msg.value}(text, address(this), CALLBACK_GAS);
        applications[requestId] =
            Application({borrower: msg.sender, decision: Decision.Pending, reason: RejectReason.None});
        emit Applied(requestId, msg.sender);
    }

    /// @inheritdoc ILoanTermsConsumer
    function onLoanTerms(uint256 requestId, LoanTerms calldata terms) external {
        if (msg.sender != address(hub)) revert NotHub(msg.sender);
        Application storage application = applications[requestId];
        if (application.decision != Decision.Pending) revert UnknownApplication(requestId);

        _terms[requestId] = terms;
        RejectReason reason = _assess(terms);
        if (reason == RejectReason.None) {
            application.decision = Decision.Approved;
            emit Approved(requestId, application.borrower, terms.amountMinor, terms.currency);
        } else {
            application.decision = Decision.Rejected;
            application.reason = reason;
            emit Rejected(requestId, application.borrower, reason);
        }
    }

    /// @notice Sets the largest principal lent in `currency`.
    /// @param currency The currency code.
    /// @param limit The limit in minor units; 0 stops lending in it.
    function setLimit(bytes8 currency, uint256 limit) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _setLimit(currency, limit);
    }

    /// @notice The terms the oracle attested for an application (zero until they arrive).
    /// @param requestId The application's request id.
    function termsOf(uint256 requestId) external view returns (LoanTerms memory) {
        return _terms[requestId];
    }

    function _assess(LoanTerms calldata terms) private view returns (RejectReason) {
        if (terms.status != STATUS_OK) return RejectReason.NotComplete;
        if (terms.riskTier == TIER_HIGH) return RejectReason.HighRisk;
        uint256 limit = limitMinor[terms.currency];
        if (limit == 0) return RejectReason.CurrencyNotLent;
        if (terms.amountMinor > limit) return RejectReason.OverLimit;
        return RejectReason.None;
    }

    function _setLimit(bytes8 currency, uint256 limit) private {
        limitMinor[currency] = limit;
        emit LimitSet(currency, limit);
    }
}
