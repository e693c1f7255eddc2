//! Solidity bindings: the terms struct from `contracts/src/LoanTerms.sol`, the hub and the
//! example consumer from the committed artifacts, and deployment.

use alloy::network::Ethereum;
use alloy::primitives::{Address, FixedBytes, U256};
use alloy::providers::Provider;
use alloy::sol;
use anyhow::Context;

use crate::chain::confirm;
use crate::extract::currency::fits_bytes8;
use crate::extract::{Extraction, Field, apr_ppm};

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

/// The on-chain struct of an extraction: the amount in minor units, missing values zero with
/// empty evidence spans (`assemble` has already withheld every value these fields cannot carry).
impl From<&Extraction> for LoanTerms {
    fn from(read: &Extraction) -> Self {
        let [a, b, c, d] = [
            Field::Amount,
            Field::Currency,
            Field::AprPercent,
            Field::TermDays,
        ]
        .map(|field| read.evidence_u32(field));
        Self {
            status: read.status as u8,
            amountMinor: read.amount_minor(),
            currency: read
                .currency
                .as_ref()
                .and_then(|c| currency_code(&c.code).ok())
                .unwrap_or_default(),
            decimals: read.currency.as_ref().map_or(0, |c| c.decimals),
            aprPpm: read.apr_percent.and_then(|r| apr_ppm(r).ok()).unwrap_or(0),
            termDays: read.term_days.unwrap_or(0),
            riskTier: read.risk_tier.map_or(0, |t| t as u8),
            riskScore: read.risk_score.unwrap_or(0),
            evidence: [a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1]],
        }
    }
}

/// A currency code as the contracts hold it: left-aligned ASCII in `bytes8`.
pub fn currency_code(code: &str) -> anyhow::Result<FixedBytes<8>> {
    let bytes = code.as_bytes();
    anyhow::ensure!(
        fits_bytes8(code),
        "currency code {code:?} must be 1 to 8 ASCII letters or digits"
    );
    let mut padded = [0u8; 8];
    padded[..bytes.len()].copy_from_slice(bytes);
    Ok(FixedBytes(padded))
}

/// The on-chain terms as the spec's JSON. Every field is read within its domain: the chain may
/// hold any `uint8` status, tier and decimals (a hub's checks can change, and events can be
/// forged on other contracts), so an unknown status or tier is named as such, and the amount is
/// `amountMinor / 10^decimals` for any decimals up to 255 and any `uint256`.
pub fn terms_json(terms: &LoanTerms) -> serde_json::Value {
    let status = match terms.status {
        1 => "ok".to_owned(),
        2 => "incomplete".to_owned(),
        3 => return serde_json::json!({ "status": "not_a_loan" }),
        other => format!("unknown ({other})"),
    };
    let currency = String::from_utf8_lossy(terms.currency.as_slice())
        .trim_end_matches('\0')
        .to_owned();
    let tier = match terms.riskTier {
        0 => None,
        1 => Some("low".to_owned()),
        2 => Some("medium".to_owned()),
        3 => Some("high".to_owned()),
        other => Some(format!("unknown ({other})")),
    };
    let e = terms.evidence;
    let span = |i: usize| match (e.get(i), e.get(i + 1)) {
        (Some(start), Some(end)) if start != end => Some([*start, *end]),
        _ => None,
    };
    serde_json::json!({
        "status": status,
        "amount": (terms.amountMinor > U256::ZERO)
            .then(|| decimal_string(terms.amountMinor, terms.decimals)),
        "currency": (!currency.is_empty()).then_some(currency),
        "apr_percent": span(4).map(|_| decimal_string(U256::from(terms.aprPpm), 4)),
        "term_days": (terms.termDays > 0).then_some(terms.termDays),
        "risk_tier": tier,
        "risk_score": terms.riskScore,
        "evidence": {
            "amount": span(0), "currency": span(2), "apr_percent": span(4), "term_days": span(6),
        },
    })
}

/// `value / 10^decimals` written out in full, without trailing zeros (`1250000.5`), for any
/// `uint256` and any `uint8` of decimals: done on the decimal digits, so nothing can overflow.
pub fn decimal_string(value: U256, decimals: u8) -> String {
    let digits = value.to_string();
    let decimals = usize::from(decimals);
    let (whole, fraction) = if digits.len() > decimals {
        let (whole, fraction) = digits.split_at(digits.len() - decimals);
        (whole.to_owned(), fraction.to_owned())
    } else {
        ("0".to_owned(), format!("{digits:0>decimals$}"))
    };
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole
    } else {
        format!("{whole}.{fraction}")
    }
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

    /// What the node signs, decoded as `status` decodes it from the chain, says what the
    /// extraction's JSON says: the two conversions agree field by field.
    #[test]
    fn signed_terms_round_trip_through_the_status_decoding() {
        use crate::extract::{Entity, TaggedSpan, TextClass, Thresholds, assemble};
        let cases = [
            (
                "Borrow USD 12,500 at 19.9% per annum over 36 months.",
                vec![
                    ("12,500", Entity::Amount),
                    ("19.9% per annum", Entity::Rate),
                    ("36 months", Entity::Term),
                ],
            ),
            (
                "A loan of 1.5 WBTC, interest-free, for 90 days.",
                vec![
                    ("1.5", Entity::Amount),
                    ("WBTC", Entity::Currency),
                    ("interest-free", Entity::Rate),
                    ("90 days", Entity::Term),
                ],
            ),
            (
                "¥3,000,000 at 2.4% p.a.",
                vec![("3,000,000", Entity::Amount), ("2.4% p.a.", Entity::Rate)],
            ),
            (
                "10 ETH at 0.5% per month for a year",
                vec![
                    ("10", Entity::Amount),
                    ("ETH", Entity::Currency),
                    ("0.5% per month", Entity::Rate),
                    ("a year", Entity::Term),
                ],
            ),
            ("Just a note about lunch plans for the team.", vec![]),
        ];
        for (text, tags) in cases {
            let spans: Vec<TaggedSpan> = tags
                .iter()
                .map(|(needle, entity)| {
                    let start = text.find(needle).unwrap();
                    TaggedSpan {
                        entity: *entity,
                        start,
                        end: start + needle.len(),
                        confidence: 0.9,
                    }
                })
                .collect();
            let class = TextClass {
                tier: [0.5, 0.3, 0.2],
                not_a_loan: if tags.is_empty() { 0.9 } else { 0.0 },
            };
            let read = assemble(text, &spans, class, Thresholds::default());
            let json = read.to_json(false);
            let decoded = terms_json(&LoanTerms::from(&read));
            for field in crate::eval::FIELDS.into_iter().chain(["risk_score"]) {
                let want = json.get(field).cloned().unwrap_or_default();
                let got = decoded.get(field).cloned().unwrap_or_default();
                assert_eq!(got, want, "{text}: {field}");
            }
            if let Some(evidence) = json["evidence"].as_object() {
                for (field, span) in evidence {
                    assert_eq!(
                        &decoded["evidence"][field], span,
                        "{text}: evidence of {field}"
                    );
                }
            }
        }
    }
}
