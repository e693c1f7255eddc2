//! End to end on a real anvil: deploy the committed artifacts, register a node, request terms,
//! fulfil with an ed25519 signature over the digest computed in Rust, and check what the hub and
//! the LoanDesk stored.

mod common;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::Provider;
use ed25519_dalek::SigningKey;
use loan_oracle::attestation::{self, domain};
use loan_oracle::chain::{confirm, signing_provider};
use loan_oracle::contracts::{
    DeploySettings, LoanDesk, LoanTerms, OracleHub, contract_error, currency_code, deploy,
    register_node,
};
use loan_oracle::keys::node_key_id;

const TEXT: &str = "LOAN AGREEMENT. The Lender agrees to lend the Borrower the principal sum of \
USD 180,000, secured by a first mortgage on a property appraised at USD 400,000, at 6.25% per \
annum over a term of fifteen (15) years.";

fn terms_for_text() -> LoanTerms {
    LoanTerms {
        status: 1,
        amountMinor: U256::from(18_000_000u64),
        currency: currency_code("USD").unwrap(),
        decimals: 2,
        aprPpm: 62_500,
        termDays: 5475,
        riskTier: 1,
        riskScore: 10,
        evidence: [80, 87, 76, 79, 151, 156, 176, 198],
    }
}

#[tokio::test]
async fn request_fulfil_and_callback_on_anvil() {
    let anvil = common::spawn_anvil();
    let owner = common::dev_signer(&anvil, 0);
    let owner_address = owner.address();
    let transmitter = common::dev_signer(&anvil, 1);
    let transmitter_address = transmitter.address();
    let owner_provider = signing_provider(&anvil.endpoint(), owner).unwrap();
    let node_provider = signing_provider(&anvil.endpoint(), transmitter).unwrap();

    // Deploy from the bound artifacts and register a node.
    let settings = DeploySettings {
        request_timeout_secs: 3600,
        desk_currency: "USD".into(),
        desk_limit_minor: 100_000_000,
    };
    let deployment = deploy(&owner_provider, owner_address, &settings)
        .await
        .unwrap();
    let node_key = SigningKey::from_bytes(&[42u8; 32]);
    let node_key_id = node_key_id(&node_key.verifying_key());
    register_node(
        &owner_provider,
        deployment.hub,
        node_key_id,
        transmitter_address,
    )
    .await
    .unwrap();

    // A borrower applies through the desk; decode the hub's event from the receipt.
    let desk = LoanDesk::new(deployment.desk, &owner_provider);
    let sent = desk
        .applyForLoan(TEXT.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
    let receipt = confirm(sent, "applyForLoan").await.unwrap();
    let requested = receipt
        .decoded_log::<OracleHub::TermsRequested>()
        .expect("TermsRequested in the receipt");
    assert_eq!(requested.requestId, U256::from(1));
    assert_eq!(requested.consumer, deployment.desk);
    assert_eq!(requested.text.as_ref(), TEXT.as_bytes());
    assert_eq!(requested.textHash, keccak256(TEXT));
    assert_eq!(requested.callbackGasLimit, 250_000);

    // The node signs the digest it computes itself.
    let model_id = B256::repeat_byte(0x5a);
    let terms = terms_for_text();
    let chain_id = owner_provider.get_chain_id().await.unwrap();
    let attestation = attestation::attestation(
        requested.requestId,
        &requested.text,
        model_id,
        terms.clone(),
    );
    let digest = attestation::digest(&attestation, &domain(chain_id, deployment.hub));
    let signature = attestation::sign(&node_key, digest);

    let hub = OracleHub::new(deployment.hub, &node_provider);
    let sent = hub
        .fulfill(
            requested.requestId,
            terms.clone().into(),
            model_id,
            signature.to_vec().into(),
        )
        .send()
        .await
        .map_err(|e| contract_error(e, "fulfill"))
        .unwrap();
    let receipt = confirm(sent, "fulfill").await.unwrap();

    // The hub stored the same digest and emitted a signature that verifies with the node key.
    let stored = hub
        .attestationDigest(requested.requestId)
        .call()
        .await
        .unwrap();
    assert_eq!(stored, digest, "hub digest != Rust digest");
    let attested = receipt
        .decoded_log::<OracleHub::TermsAttested>()
        .expect("TermsAttested");
    assert_eq!(attested.nodeKey, node_key_id);
    assert_eq!(attested.digest, digest);
    assert_eq!(LoanTerms::from(attested.terms.clone()), terms);
    assert!(attestation::verify(
        &node_key.verifying_key(),
        attested.digest,
        &attested.signature
    ));
    assert!(receipt.decoded_log::<OracleHub::CallbackFailed>().is_none());

    // The desk got the terms through its callback and approved the loan.
    let stored_terms = desk.termsOf(requested.requestId).call().await.unwrap();
    assert_eq!(LoanTerms::from(stored_terms), terms);
    let application = desk.applications(requested.requestId).call().await.unwrap();
    assert_eq!(application.borrower, owner_address);
    assert_eq!(application.decision, 2, "approved");

    // A second fulfilment is refused with the hub's custom error.
    let again = hub
        .fulfill(
            requested.requestId,
            terms.into(),
            model_id,
            signature.to_vec().into(),
        )
        .send()
        .await
        .map_err(|e| contract_error(e, "fulfill"))
        .unwrap_err();
    assert!(
        format!("{again:#}").contains("AlreadyFulfilled"),
        "{again:#}"
    );
    assert_ne!(deployment.hub, Address::ZERO);
}
