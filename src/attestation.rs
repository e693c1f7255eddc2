//! Attestation: the EIP-712 digest the hub computes for a request's terms, and the node's
//! ed25519 signature over it.

use alloy::primitives::{Address, B256, FixedBytes, U256, keccak256};
use alloy::sol_types::{Eip712Domain, SolStruct, eip712_domain};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::contracts::{Attestation, LoanTerms};

/// The hub's EIP-712 domain: name "LoanOracle", version "1", the chain and the hub's address.
pub fn domain(chain_id: u64, hub: Address) -> Eip712Domain {
    eip712_domain! {
        name: "LoanOracle",
        version: "1",
        chain_id: chain_id,
        verifying_contract: hub,
    }
}

/// An attestation of `terms` for the request with this id and text.
pub fn attestation(request_id: U256, text: &[u8], model_id: B256, terms: LoanTerms) -> Attestation {
    Attestation {
        requestId: request_id,
        textHash: keccak256(text),
        modelId: model_id,
        terms,
    }
}

/// The digest the hub stores for `attestation` (and the node signs).
pub fn digest(attestation: &Attestation, domain: &Eip712Domain) -> B256 {
    attestation.eip712_signing_hash(domain)
}

/// The node's ed25519 signature over a digest, as the 64 bytes the hub records.
pub fn sign(key: &SigningKey, digest: B256) -> FixedBytes<64> {
    FixedBytes(key.sign(digest.as_slice()).to_bytes())
}

/// Checks a signature the hub emitted against a node key and digest.
pub fn verify(node_key: &VerifyingKey, digest: B256, signature: &[u8]) -> bool {
    Signature::from_slice(signature)
        .map(|sig| node_key.verify(digest.as_slice(), &sig).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::tests::sample_terms;

    #[test]
    fn signature_verifies_only_for_its_digest_and_key() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let domain = domain(31337, Address::repeat_byte(0x11));
        let att = attestation(U256::from(1), b"text", B256::ZERO, sample_terms());
        let digest = digest(&att, &domain);
        let sig = sign(&key, digest);
        assert!(verify(&key.verifying_key(), digest, sig.as_slice()));
        assert!(!verify(&other.verifying_key(), digest, sig.as_slice()));
        assert!(!verify(
            &key.verifying_key(),
            B256::repeat_byte(1),
            sig.as_slice()
        ));
        assert!(!verify(&key.verifying_key(), digest, &sig[..63]));
    }

    #[test]
    fn digest_binds_chain_hub_and_terms() {
        let att = attestation(U256::from(1), b"text", B256::ZERO, sample_terms());
        let base = digest(&att, &domain(31337, Address::repeat_byte(0x11)));
        assert_ne!(base, digest(&att, &domain(1, Address::repeat_byte(0x11))));
        assert_ne!(
            base,
            digest(&att, &domain(31337, Address::repeat_byte(0x12)))
        );
        let mut changed = att.clone();
        changed.terms.evidence[0] = 9;
        assert_ne!(
            base,
            digest(&changed, &domain(31337, Address::repeat_byte(0x11)))
        );
    }
}
