// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LoanTerms} from "../LoanTerms.sol";

/// @title ILoanTermsConsumer
/// @notice What a contract implements to receive attested loan terms from the OracleHub.
interface ILoanTermsConsumer {
    /// @notice Called by the hub once per request, with exactly the gas the request asked for.
    /// @dev A revert here does not undo the attestation; the hub emits `CallbackFailed` instead.
    /// @param requestId The id `requestTerms` returned.
    /// @param terms The attested terms.
    function onLoanTerms(uint256 requestId, LoanTerms calldata terms) external;
}
