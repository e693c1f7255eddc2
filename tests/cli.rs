//! The `loan-oracle` binary as an operator runs it: key files, deploy and register on anvil.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use alloy::primitives::U256;
use loan_oracle::chain::read_provider;
use loan_oracle::config::Config;
use loan_oracle::contracts::{LoanDesk, OracleHub};
use loan_oracle::keys::write_secret;

fn loan_oracle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loan-oracle"))
        .args(args)
        .output()
        .expect("run loan-oracle")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn deploy(endpoint: &str, owner_key: &Path, config: &Path) -> Output {
    loan_oracle(&[
        "deploy",
        "--rpc-url",
        endpoint,
        "--private-key-file",
        path_str(owner_key),
        "--out",
        path_str(config),
    ])
}

#[test]
fn keys_new_show_refuse_overwrite_and_open_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("node.key");

    let created = loan_oracle(&["keys", "new", "--out", path_str(&key)]);
    assert!(created.status.success(), "{}", stderr(&created));
    let public = stdout(&created);
    assert!(
        public.starts_with("0x") && public.len() == 66,
        "public key hex: {public}"
    );
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let shown = loan_oracle(&["keys", "show", path_str(&key)]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_eq!(stdout(&shown), public);

    let again = loan_oracle(&["keys", "new", "--out", path_str(&key)]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("refusing to overwrite"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        stdout(&loan_oracle(&["keys", "show", path_str(&key)])),
        public,
        "key unchanged"
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = loan_oracle(&["keys", "show", path_str(&key)]);
    assert!(!open.status.success());
    assert!(
        stderr(&open).contains("readable by group or others"),
        "{}",
        stderr(&open)
    );
}

#[tokio::test]
async fn deploy_and_register_through_the_cli() {
    let anvil = common::spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let owner_key = dir.path().join("owner.key");
    let deployer = common::dev_signer(&anvil, 0);
    write_secret(&owner_key, &hex::encode(deployer.to_bytes())).unwrap();
    let config_path = dir.path().join("config/node.toml");
    let endpoint = anvil.endpoint();

    let deployed = deploy(&endpoint, &owner_key, &config_path);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let config = Config::load(&config_path).unwrap();
    assert_eq!(config.chain.chain_id, anvil.chain_id());
    assert_eq!(config.chain.rpc_url, endpoint);

    let provider = read_provider(&endpoint).unwrap();
    let hub = OracleHub::new(config.chain.hub_address, &provider);
    assert_eq!(hub.owner().call().await.unwrap(), deployer.address());

    let node_key = dir.path().join("node.key");
    let public = stdout(&loan_oracle(&["keys", "new", "--out", path_str(&node_key)]));
    let transmitter = common::dev_signer(&anvil, 1).address().to_string();
    let register_args = [
        "register",
        "--config",
        path_str(&config_path),
        "--node-key",
        path_str(&node_key),
        "--transmitter",
        &transmitter,
        "--private-key-file",
        path_str(&owner_key),
    ];
    let registered = loan_oracle(&register_args);
    assert!(registered.status.success(), "{}", stderr(&registered));
    let on_chain = hub
        .nodeKeyOf(transmitter.parse().unwrap())
        .call()
        .await
        .unwrap();
    assert_eq!(on_chain.to_string(), public);

    // Registering again is refused by the hub, and the error names the hub's custom error.
    let twice = loan_oracle(&register_args);
    assert!(!twice.status.success());
    assert!(
        stderr(&twice).contains("NodeAlreadyRegistered"),
        "{}",
        stderr(&twice)
    );

    // deploy never overwrites a config.
    let over = deploy(&endpoint, &owner_key, &config_path);
    assert!(!over.status.success());
    assert!(
        stderr(&over).contains("refusing to overwrite"),
        "{}",
        stderr(&over)
    );
}

#[tokio::test]
async fn submit_and_status_as_a_lender_would() {
    let anvil = common::spawn_anvil();
    let dir = tempfile::tempdir().unwrap();
    let owner_key = dir.path().join("owner.key");
    write_secret(
        &owner_key,
        &hex::encode(common::dev_signer(&anvil, 0).to_bytes()),
    )
    .unwrap();
    let config = dir.path().join("node.toml");
    let deployed = deploy(&anvil.endpoint(), &owner_key, &config);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let config = path_str(&config);
    let key = path_str(&owner_key);

    let text_file = dir.path().join("loan.txt");
    std::fs::write(&text_file, "Borrow USD 5,000 at 9% APR for 60 days.").unwrap();
    let first = loan_oracle(&[
        "submit",
        "--config",
        config,
        "--private-key-file",
        key,
        "--text-file",
        path_str(&text_file),
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let printed: serde_json::Value = serde_json::from_str(&stdout(&first)).unwrap();
    assert_eq!(printed["request_id"], "1");
    // The first went through the config's LoanDesk, as an application.
    let loaded = Config::load(Path::new(config)).unwrap();
    let provider = read_provider(&anvil.endpoint()).unwrap();
    let desk = LoanDesk::new(loaded.chain.desk_address.unwrap(), &provider);
    let application = desk.applications(U256::from(1)).call().await.unwrap();
    assert_eq!(application.decision, 1, "pending application");
    let consumer = "0x000000000000000000000000000000000000dEaD";
    let second = loan_oracle(&[
        "submit",
        "--config",
        config,
        "--private-key-file",
        key,
        "--text",
        "Lend me 5 ETH.",
        "--consumer",
        consumer,
    ]);
    let printed: serde_json::Value = serde_json::from_str(&stdout(&second)).unwrap();
    assert_eq!(printed["request_id"], "2");

    // No node runs: the request is pending on the hub, with the text's hash and no terms yet.
    let status = loan_oracle(&["status", "--config", config, "2"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(status["state"], "pending");
    assert_eq!(
        status["text_hash"],
        alloy::primitives::keccak256("Lend me 5 ETH.").to_string()
    );
    assert!(status.get("attestation").is_none());
    assert_eq!(
        status["consumer"].as_str().unwrap().to_lowercase(),
        consumer.to_lowercase()
    );

    let unknown = loan_oracle(&["status", "--config", config, "7"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("not known"),
        "{}",
        stderr(&unknown)
    );
    let neither = loan_oracle(&["submit", "--config", config, "--private-key-file", key]);
    assert!(!neither.status.success());

    // `run` says which key is missing.
    let run = run_without_env_key(&["run", "--config", config]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("keys.node_key_file"),
        "{}",
        stderr(&run)
    );
    let node_key = dir.path().join("node.key");
    loan_oracle(&["keys", "new", "--out", path_str(&node_key)]);
    let run = run_without_env_key(&["run", "--config", config, "--node-key", path_str(&node_key)]);
    assert!(
        stderr(&run).contains("LOAN_ORACLE_TRANSMITTER_KEY"),
        "{}",
        stderr(&run)
    );
    // A key given by flag that cannot be read: the error names the flag, not the config key.
    let missing = dir.path().join("no-such.key");
    let run = run_without_env_key(&[
        "run",
        "--config",
        config,
        "--node-key",
        path_str(&node_key),
        "--transmitter-key-file",
        path_str(&missing),
    ]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("--transmitter-key-file"),
        "{}",
        stderr(&run)
    );
}

/// `loan-oracle ARGS` with no transmitter key in the environment.
fn run_without_env_key(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loan-oracle"))
        .args(args)
        .env_remove("LOAN_ORACLE_TRANSMITTER_KEY")
        .output()
        .unwrap()
}
