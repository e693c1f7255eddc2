//! Prints the gas of the hub's main transactions on a real anvil: `requestTerms` with a 1 KiB
//! text (sent directly and through the LoanDesk) and `fulfill` with the LoanDesk callback.
//!
//! Run: `scripts/setup.sh && cargo run --example gas_figures`

use alloy::node_bindings::Anvil;
use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use ed25519_dalek::SigningKey;
use loan_oracle::attestation;
use loan_oracle::chain::{confirm, signing_provider};
use loan_oracle::contracts::{
    DeploySettings, LoanDesk, LoanTerms, OracleHub, currency_code, deploy, register_node,
};
use loan_oracle::keys::node_key_id;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let anvil = Anvil::at(concat!(env!("CARGO_MANIFEST_DIR"), "/.tools/bin/anvil")).try_spawn()?;
    let owner = PrivateKeySigner::from(anvil.keys()[0].clone());
    let owner_address = owner.address();
    let transmitter = PrivateKeySigner::from(anvil.keys()[1].clone());
    let transmitter_address = transmitter.address();
    let lender = signing_provider(&anvil.endpoint(), owner)?;
    let node = signing_provider(&anvil.endpoint(), transmitter)?;
    let settings = DeploySettings {
        request_timeout_secs: 3600,
        desk_currency: "USD".into(),
        desk_limit_minor: 100_000_000,
    };
    let deployment = deploy(&lender, owner_address, &settings).await?;
    let node_key = SigningKey::from_bytes(&[7u8; 32]);
    register_node(
        &lender,
        deployment.hub,
        node_key_id(&node_key.verifying_key()),
        transmitter_address,
    )
    .await?;

    let text: Vec<u8> = (0..1024).map(|i| b'a' + (i % 26) as u8).collect();
    let hub = OracleHub::new(deployment.hub, &lender);
    let direct = hub
        .requestTerms(text.clone().into(), deployment.desk, 250_000)
        .send()
        .await?;
    let direct = confirm(direct, "requestTerms").await?;
    let desk = LoanDesk::new(deployment.desk, &lender);
    let via_desk = confirm(
        desk.applyForLoan(text.clone().into()).send().await?,
        "applyForLoan",
    )
    .await?;
    let request_id = via_desk
        .decoded_log::<OracleHub::TermsRequested>()
        .ok_or_else(|| anyhow::anyhow!("no TermsRequested"))?
        .requestId;

    let terms = LoanTerms {
        status: 1,
        amountMinor: U256::from(18_000_000u64),
        currency: currency_code("USD")?,
        decimals: 2,
        aprPpm: 62_500,
        termDays: 5475,
        riskTier: 1,
        riskScore: 10,
        evidence: [10, 17, 6, 9, 40, 45, 60, 80],
    };
    let model_id = B256::repeat_byte(0x5a);
    let chain_id = lender.get_chain_id().await?;
    let att = attestation::attestation(request_id, &text, model_id, terms.clone());
    let digest = attestation::digest(&att, &attestation::domain(chain_id, deployment.hub));
    let signature = attestation::sign(&node_key, digest);
    let fulfil = OracleHub::new(deployment.hub, &node)
        .fulfill(
            request_id,
            terms.into(),
            model_id,
            signature.to_vec().into(),
        )
        .send()
        .await?;
    let fulfil = confirm(fulfil, "fulfill").await?;
    anyhow::ensure!(
        desk.applications(request_id).call().await?.decision == 2,
        "the desk did not approve"
    );

    println!("gas (transaction gasUsed on anvil, solc 0.8.30, optimizer 10000 runs)");
    println!(
        "  requestTerms, 1 KiB text, from an EOA:        {}",
        direct.gas_used
    );
    println!(
        "  LoanDesk.applyForLoan, 1 KiB text:            {}",
        via_desk.gas_used
    );
    println!(
        "  fulfill with the LoanDesk callback (approve): {}",
        fulfil.gas_used
    );
    Ok(())
}
