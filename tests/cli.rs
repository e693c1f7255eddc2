//! The `loan-oracle` binary as an operator runs it: key files, deploy and register on anvil.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use loan_oracle::chain::read_provider;
use loan_oracle::config::Config;
use loan_oracle::contracts::OracleHub;
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
