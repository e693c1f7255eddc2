//! Solidity bindings: the terms struct from `contracts/src/LoanTerms.sol`, the hub and the
//! example consumer from the committed artifacts, and deployment.

use alloy::network::Ethereum;
use alloy::primitives::{Address, FixedBytes};
use alloy::providers::Provider;
use alloy::sol;
use anyhow::Context;

use crate::chain::confirm;

sol!(
    #[sol(all_derives)]
    "contracts/src/LoanTerms.sol"
);

sol!(
    #[sol(rpc, all_derives)]
    OracleHub,
    "contracts/artifacts/OracleHub.json"
);

sol!(
    #[sol(rpc, all_derives)]
    LoanDesk,
    "contracts/artifacts/LoanDesk.json"
);

/// The artifacts' ABIs each carry their own copy of the struct; these conversions keep
/// `LoanTerms` (bound from the Solidity source) the one type the node works with.
macro_rules! convert_terms {
    ($($other:ty),*) => {$(
        impl From<LoanTerms> for $other {
            fn from(t: LoanTerms) -> Self {
                Self {
                    status: t.status,
                    amountMinor: t.amountMinor,
                    currency: t.currency,
                    decimals: t.decimals,
                    aprPpm: t.aprPpm,
                    termDays: t.termDays,
                    riskTier: t.riskTier,
                    riskScore: t.riskScore,
                    evidence: t.evidence,
                }
            }
        }

        impl From<$other> for LoanTerms {
            fn from(t: $other) -> Self {
                Self {
                    status: t.status,
                    amountMinor: t.amountMinor,
                    currency: t.currency,
                    decimals: t.decimals,
                    aprPpm: t.aprPpm,
                    termDays: t.termDays,
                    riskTier: t.riskTier,
                    riskScore: t.riskScore,
                    evidence: t.evidence,
                }
            }
        }
    )*};
}
convert_terms!(OracleHub::LoanTerms, LoanDesk::LoanTerms);

/// A currency code as the contracts hold it: left-aligned ASCII in `bytes8`.
pub fn currency_code(code: &str) -> anyhow::Result<FixedBytes<8>> {
    let bytes = code.as_bytes();
    anyhow::ensure!(
        !bytes.is_empty() && bytes.len() <= 8 && bytes.iter().all(u8::is_ascii_alphanumeric),
        "currency code {code:?} must be 1 to 8 ASCII letters or digits"
    );
    let mut padded = [0u8; 8];
    padded[..bytes.len()].copy_from_slice(bytes);
    Ok(FixedBytes(padded))
}

/// Turns a failed call into an error that names the contract's custom error, where it is one.
pub fn contract_error(error: alloy::contract::Error, what: &str) -> anyhow::Error {
    if let Some(hub) = error.as_decoded_interface_error::<OracleHub::OracleHubErrors>() {
        return anyhow::anyhow!("{what} reverted: OracleHub.{hub:?}");
    }
    if let Some(desk) = error.as_decoded_interface_error::<LoanDesk::LoanDeskErrors>() {
        return anyhow::anyhow!("{what} reverted: LoanDesk.{desk:?}");
    }
    anyhow::Error::new(error).context(format!("{what} failed"))
}

/// Settings for a fresh deployment of the hub and the example desk.
#[derive(Debug, Clone)]
pub struct DeploySettings {
    /// Seconds before a requester may cancel an unfulfilled request.
    pub request_timeout_secs: u64,
    /// The currency the example desk lends in.
    pub desk_currency: String,
    /// The desk's limit in minor units of that currency.
    pub desk_limit_minor: u128,
}

/// Addresses and the block of a deployment.
#[derive(Debug, Clone, Copy)]
pub struct Deployment {
    pub hub: Address,
    pub desk: Address,
    /// The block the hub was deployed in: where a node starts watching.
    pub block: u64,
}

/// Deploys OracleHub (owned by the provider's signer) and a LoanDesk that uses it.
pub async fn deploy(
    provider: &impl Provider<Ethereum>,
    owner: Address,
    settings: &DeploySettings,
) -> anyhow::Result<Deployment> {
    let sent = OracleHub::deploy_builder(provider, owner, settings.request_timeout_secs)
        .send()
        .await
        .map_err(|e| contract_error(e, "deploy OracleHub"))?;
    let hub_receipt = confirm(sent, "deploy OracleHub").await?;
    let hub = hub_receipt
        .contract_address
        .context("OracleHub deployment receipt has no contract address")?;
    let block = hub_receipt
        .block_number
        .context("OracleHub deployment receipt has no block number")?;

    let currency = currency_code(&settings.desk_currency)?;
    let limit = alloy::primitives::U256::from(settings.desk_limit_minor);
    let sent = LoanDesk::deploy_builder(provider, hub, currency, limit)
        .send()
        .await
        .map_err(|e| contract_error(e, "deploy LoanDesk"))?;
    let desk_receipt = confirm(sent, "deploy LoanDesk").await?;
    let desk = desk_receipt
        .contract_address
        .context("LoanDesk deployment receipt has no contract address")?;
    Ok(Deployment { hub, desk, block })
}

/// Registers a node's ed25519 key and transmitter with the hub; the provider must sign as owner.
pub async fn register_node(
    provider: &impl Provider<Ethereum>,
    hub: Address,
    node_key: FixedBytes<32>,
    transmitter: Address,
) -> anyhow::Result<()> {
    let hub = OracleHub::new(hub, provider);
    let sent = hub
        .addNode(node_key, transmitter)
        .send()
        .await
        .map_err(|e| contract_error(e, "addNode"))?;
    confirm(sent, "addNode").await?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn currency_codes_are_left_aligned_ascii() {
        assert_eq!(currency_code("USD").unwrap().0, *b"USD\0\0\0\0\0");
        assert_eq!(currency_code("USDC").unwrap().0, *b"USDC\0\0\0\0");
        assert!(currency_code("").is_err());
        assert!(currency_code("TOOLONGCODE").is_err());
        assert!(currency_code("U$D").is_err());
    }

    #[test]
    fn eip712_type_string_matches_the_solidity_typehash() {
        use alloy::sol_types::SolStruct;
        let expected = "Attestation(uint256 requestId,bytes32 textHash,bytes32 modelId,LoanTerms terms)\
LoanTerms(uint8 status,uint256 amountMinor,bytes8 currency,uint8 decimals,uint32 aprPpm,\
uint32 termDays,uint8 riskTier,uint8 riskScore,uint32[8] evidence)";
        assert_eq!(Attestation::eip712_encode_type(), expected);
    }

    /// Terms for tests: a complete, low-risk USD loan.
    pub(crate) fn sample_terms() -> LoanTerms {
        LoanTerms {
            status: 1,
            amountMinor: alloy::primitives::U256::from(18_000_000u64),
            currency: currency_code("USD").unwrap(),
            decimals: 2,
            aprPpm: 62_500,
            termDays: 5475,
            riskTier: 1,
            riskScore: 12,
            evidence: [1, 2, 3, 4, 5, 6, 7, 8],
        }
    }

    #[test]
    fn terms_convert_losslessly_between_bindings() {
        let terms = sample_terms();
        let hub: OracleHub::LoanTerms = terms.clone().into();
        assert_eq!(LoanTerms::from(hub), terms);
    }
}
