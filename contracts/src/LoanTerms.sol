// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Loan terms read from one text, as schema v1 (shared/spec/loan-terms-v1.md) defines them.
/// @dev The only definition of the terms in the project: the Rust node binds this file with
/// alloy's `sol!`, and the hub hashes it with EIP-712. A value that was not found is zero and its
/// evidence span is empty (start == end), so an explicit 0 % rate keeps a non-empty span.
struct LoanTerms {
    /// 1 ok, 2 incomplete, 3 not_a_loan.
    uint8 status;
    /// The principal in minor units: amount × 10^decimals.
    uint256 amountMinor;
    /// ISO 4217 code or upper-case token symbol, left-aligned ASCII ("USD" = 0x5553440000000000).
    bytes8 currency;
    /// Minor-unit decimals of `currency` (fiat 2, JPY 0, USDC 6, WBTC 8, ETH 18, ...).
    uint8 decimals;
    /// Nominal annual rate in parts per million (7.125 % = 71250).
    uint32 aprPpm;
    /// Tenor in days (month = 30, year = 365).
    uint32 termDays;
    /// 0 none (not a loan), 1 low, 2 medium, 3 high.
    uint8 riskTier;
    /// The model's score 0..=100; higher is riskier.
    uint8 riskScore;
    /// UTF-8 byte spans, end exclusive: amount, currency, rate, term as [start, end] pairs.
    uint32[8] evidence;
}

/// @notice What a node signs: the terms it read from the text of one request, and the model
/// that read them.
struct Attestation {
    uint256 requestId;
    bytes32 textHash;
    bytes32 modelId;
    LoanTerms terms;
}

/// @title LoanTermsHashing
/// @notice EIP-712 struct hashes of `LoanTerms` and `Attestation`.
library LoanTermsHashing {
    bytes32 internal constant LOAN_TERMS_TYPEHASH = keccak256(
        "LoanTerms(uint8 status,uint256 amountMinor,bytes8 currency,uint8 decimals,uint32 aprPpm,uint32 termDays,uint8 riskTier,uint8 riskScore,uint32[8] evidence)"
    );

    bytes32 internal constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(uint256 requestId,bytes32 textHash,bytes32 modelId,LoanTerms terms)LoanTerms(uint8 status,uint256 amountMinor,bytes8 currency,uint8 decimals,uint32 aprPpm,uint32 termDays,uint8 riskTier,uint8 riskScore,uint32[8] evidence)"
    );

    /// @notice The EIP-712 struct hash of `terms`.
    function hashTerms(LoanTerms calldata terms) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                LOAN_TERMS_TYPEHASH,
                terms.status,
                terms.amountMinor,
                terms.currency,
                terms.decimals,
                terms.aprPpm,
                terms.termDays,
                terms.riskTier,
                terms.riskScore,
                // A fixed array is hashed as the keccak of its 32-byte padded members.
                keccak256(abi.encode(terms.evidence))
            )
        );
    }

    /// @notice The EIP-712 struct hash of an attestation of `terms` for one request.
    function hashAttestation(uint256 requestId, bytes32 textHash, bytes32 modelId, LoanTerms calldata terms)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(ATTESTATION_TYPEHASH, requestId, textHash, modelId, hashTerms(terms)));
    }
}
