// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LoanTerms, LoanTermsHashing} from "./LoanTerms.sol";
import {ILoanTermsConsumer} from "./interfaces/ILoanTermsConsumer.sol";

/// @title OracleHub
/// @notice Takes loan texts from requesters, records the terms that registered oracle nodes
/// attest for them, and hands the terms to the requester's consumer contract.
/// @dev Each request is fulfilled at most once. Nodes sign the EIP-712 digest of an
/// `Attestation` with ed25519; the hub stores the digest and emits the signature so anyone can
/// check it off-chain (on-chain ed25519 verification comes later).
contract OracleHub {
    /// @notice Where a request stands.
    enum RequestState {
        None,
        Pending,
        Fulfilled,
        Cancelled
    }

    /// @notice One request for terms.
    struct Request {
        address requester;
        uint64 createdAt;
        RequestState state;
        address consumer;
        uint32 callbackGasLimit;
        uint256 fee;
        bytes32 textHash;
    }

    /// @notice A registered node: the address that posts its attestations.
    struct Node {
        address transmitter;
        bool active;
    }

    /// @notice The longest text a request may carry, in bytes.
    uint256 public constant MAX_TEXT_BYTES = 16_384;
    /// @notice The most gas a request may ask for its consumer callback.
    uint32 public constant MAX_CALLBACK_GAS = 500_000;
    /// @notice Length of an ed25519 signature.
    uint256 public constant SIGNATURE_BYTES = 64;
    /// @notice Most bytes of a failed callback's revert data kept in `CallbackFailed`.
    uint256 public constant MAX_REASON_BYTES = 256;
    /// @dev Gas spent between the exact-gas check and the CALL itself.
    uint256 private constant CALL_GAS_OVERHEAD = 5_000;

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("LoanOracle");
    bytes32 private constant VERSION_HASH = keccak256("1");

    /// @notice Seconds after which the requester may cancel an unfulfilled request.
    uint64 public immutable requestTimeout;

    /// @notice The account that manages nodes and the fee.
    address public owner;
    /// @notice The account that may accept ownership.
    address public pendingOwner;
    /// @notice The least fee `requestTerms` takes, in wei.
    uint256 public requestFee;
    /// @notice The id the next request gets.
    uint256 public nextRequestId = 1;

    /// @notice Requests by id.
    mapping(uint256 requestId => Request) public requests;
    /// @notice The EIP-712 digest of the accepted attestation, by request id.
    mapping(uint256 requestId => bytes32) public attestationDigest;
    /// @notice Registered nodes by ed25519 public key.
    mapping(bytes32 nodeKey => Node) public nodes;
    /// @notice The node key a transmitter posts for (zero if none).
    mapping(address transmitter => bytes32) public nodeKeyOf;
    /// @notice Wei each account may withdraw: node fees and cancelled requests' refunds.
    mapping(address account => uint256) public withdrawable;

    uint256 private _lock = 1;

    /// @notice A requester asked for the terms of `text`.
    event TermsRequested(
        uint256 indexed requestId,
        address indexed requester,
        address indexed consumer,
        bytes32 textHash,
        bytes text,
        uint32 callbackGasLimit
    );
    /// @notice A node attested the terms of a request.
    event TermsAttested(
        uint256 indexed requestId,
        bytes32 indexed nodeKey,
        bytes32 modelId,
        bytes32 digest,
        bytes signature,
        LoanTerms terms
    );
    /// @notice The consumer's callback reverted or ran out of gas; the attestation stands.
    event CallbackFailed(uint256 indexed requestId, bytes reason);
    /// @notice The requester cancelled a request that was not fulfilled in time.
    event RequestCancelled(uint256 indexed requestId, address indexed requester, uint256 refund);
    /// @notice A node was registered.
    event NodeAdded(bytes32 indexed nodeKey, address indexed transmitter);
    /// @notice A node was removed.
    event NodeRemoved(bytes32 indexed nodeKey, address indexed transmitter);
    /// @notice The request fee changed.
    event RequestFeeSet(uint256 fee);
    /// @notice An account withdrew its balance.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice The owner offered ownership to `newOwner`.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Ownership moved to `newOwner`.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /// @notice The text is empty or longer than `MAX_TEXT_BYTES`.
    error InvalidTextLength(uint256 length);
    /// @notice The callback gas limit is above `MAX_CALLBACK_GAS`.
    error CallbackGasTooHigh(uint32 requested, uint32 maximum);
    /// @notice The consumer is the zero address.
    error ZeroConsumer();
    /// @notice The fee sent is below `requestFee`.
    error FeeTooLow(uint256 sent, uint256 required);
    /// @notice The caller is not the owner.
    error NotOwner(address caller);
    /// @notice The caller is not the pending owner.
    error NotPendingOwner(address caller);
    /// @notice The caller is not a registered node's transmitter.
    error NotTransmitter(address caller);
    /// @notice The node key or transmitter is zero.
    error InvalidNode();
    /// @notice The node key or transmitter is already registered.
    error NodeAlreadyRegistered(bytes32 nodeKey, address transmitter);
    /// @notice No node has this key.
    error UnknownNode(bytes32 nodeKey);
    /// @notice No request has this id.
    error UnknownRequest(uint256 requestId);
    /// @notice The request was already fulfilled.
    error AlreadyFulfilled(uint256 requestId);
    /// @notice The request is not pending (it was cancelled).
    error RequestNotPending(uint256 requestId, RequestState state);
    /// @notice The signature is not 64 bytes.
    error InvalidSignatureLength(uint256 length);
    /// @notice The terms' status is not 1, 2 or 3, or the risk tier is above 3.
    error InvalidTerms();
    /// @notice Too little gas was left to give the consumer exactly its callback gas.
    error InsufficientGasForCallback(uint256 left, uint32 required);
    /// @notice Only the requester may cancel.
    error NotRequester(address caller);
    /// @notice The request may be cancelled from `cancellableAt` on.
    error NotExpired(uint256 requestId, uint256 cancellableAt);
    /// @notice There is nothing to withdraw.
    error NothingToWithdraw();
    /// @notice Sending the withdrawal failed.
    error WithdrawFailed();
    /// @notice A guarded function was entered again.
    error Reentrancy();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier nonReentrant() {
        if (_lock != 1) revert Reentrancy();
        _lock = 2;
        _;
        _lock = 1;
    }

    /// @param owner_ The first owner.
    /// @param requestTimeout_ Seconds before a requester may cancel an unfulfilled request.
    constructor(address owner_, uint64 requestTimeout_) {
        owner = owner_;
        requestTimeout = requestTimeout_;
        emit OwnershipTransferred(address(0), owner_);
    }

    // ---------------------------------------------------------------- requests

    /// @notice Asks the oracle for the terms of `text`; the terms arrive at `consumer`.
    /// @param text The loan text, 1 to `MAX_TEXT_BYTES` bytes (UTF-8 expected, not enforced).
    /// @param consumer The contract whose `onLoanTerms` receives the terms.
    /// @param callbackGasLimit The exact gas the callback gets, at most `MAX_CALLBACK_GAS`.
    /// @return requestId The id of the new request.
    function requestTerms(bytes calldata text, address consumer, uint32 callbackGasLimit)
        external
        payable
        nonReentrant
        returns (uint256 requestId)
    {
        if (text.length == 0 || text.length > MAX_TEXT_BYTES) revert InvalidTextLength(text.length);
        if (callbackGasLimit > MAX_CALLBACK_GAS) {
            revert CallbackGasTooHigh(callbackGasLimit, MAX_CALLBACK_GAS);
        }
        if (consumer == address(0)) revert ZeroConsumer();
        if (msg.value < requestFee) revert FeeTooLow(msg.value, requestFee);

        requestId = nextRequestId++;
        bytes32 textHash = keccak256(text);
        requests[requestId] = Request({
            requester: msg.sender,
            createdAt: uint64(block.timestamp),
            state: RequestState.Pending,
            consumer: consumer,
            callbackGasLimit: callbackGasLimit,
            fee: msg.value,
            textHash: textHash
        });
        emit TermsRequested(requestId, msg.sender, consumer, textHash, text, callbackGasLimit);
    }

    /// @notice Records a node's attestation of a request's terms, then calls the consumer.
    /// @dev Callable once per request, by a registered node's transmitter. The fee goes to the
    /// transmitter's withdrawable balance. A failing callback emits `CallbackFailed`.
    /// @param requestId The request.
    /// @param terms The terms the node read.
    /// @param modelId The id of the model that read them (sha256 over its weights and schema).
    /// @param signature The node's ed25519 signature over `attestationDigestOf(...)`.
    function fulfill(uint256 requestId, LoanTerms calldata terms, bytes32 modelId, bytes calldata signature)
        external
        nonReentrant
    {
        bytes32 nodeKey = nodeKeyOf[msg.sender];
        if (nodeKey == bytes32(0)) revert NotTransmitter(msg.sender);
        Request storage request = requests[requestId];
        _requirePending(requestId, request.state);
        if (signature.length != SIGNATURE_BYTES) revert InvalidSignatureLength(signature.length);
        if (terms.status == 0 || terms.status > 3 || terms.riskTier > 3) revert InvalidTerms();

        bytes32 digest =
            _digest(LoanTermsHashing.hashAttestation(requestId, request.textHash, modelId, terms));
        request.state = RequestState.Fulfilled;
        attestationDigest[requestId] = digest;
        withdrawable[msg.sender] += request.fee;
        emit TermsAttested(requestId, nodeKey, modelId, digest, signature, terms);

        _callConsumer(requestId, request.consumer, request.callbackGasLimit, terms);
    }

    /// @notice Cancels an unfulfilled request after `requestTimeout` and refunds its fee.
    /// @param requestId The request to cancel; only its requester may.
    function cancel(uint256 requestId) external nonReentrant {
        Request storage request = requests[requestId];
        _requirePending(requestId, request.state);
        if (msg.sender != request.requester) revert NotRequester(msg.sender);
        uint256 cancellableAt = uint256(request.createdAt) + requestTimeout;
        // Minutes-long expiries: validator timestamp drift does not matter here.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < cancellableAt) revert NotExpired(requestId, cancellableAt);

        request.state = RequestState.Cancelled;
        withdrawable[msg.sender] += request.fee;
        emit RequestCancelled(requestId, msg.sender, request.fee);
    }

    /// @notice Sends the caller everything it may withdraw.
    function withdraw() external nonReentrant {
        uint256 amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        withdrawable[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool sent,) = msg.sender.call{value: amount}("");
        if (!sent) revert WithdrawFailed();
    }

    // ------------------------------------------------------------------- views

    /// @notice The EIP-712 domain separator: name "LoanOracle", version "1", this chain, this hub.
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    /// @notice The EIP-712 digest a node signs for an attestation.
    /// @param requestId The request.
    /// @param textHash keccak256 of the request's text.
    /// @param modelId The model's id.
    /// @param terms The terms.
    function attestationDigestOf(
        uint256 requestId,
        bytes32 textHash,
        bytes32 modelId,
        LoanTerms calldata terms
    ) external view returns (bytes32) {
        return _digest(LoanTermsHashing.hashAttestation(requestId, textHash, modelId, terms));
    }

    // ------------------------------------------------------------------- admin

    /// @notice Registers a node.
    /// @param nodeKey The node's ed25519 public key.
    /// @param transmitter The address that posts the node's attestations.
    function addNode(bytes32 nodeKey, address transmitter) external onlyOwner {
        if (nodeKey == bytes32(0) || transmitter == address(0)) revert InvalidNode();
        if (nodes[nodeKey].active || nodeKeyOf[transmitter] != bytes32(0)) {
            revert NodeAlreadyRegistered(nodeKey, transmitter);
        }
        nodes[nodeKey] = Node({transmitter: transmitter, active: true});
        nodeKeyOf[transmitter] = nodeKey;
        emit NodeAdded(nodeKey, transmitter);
    }

    /// @notice Removes a node; its transmitter can no longer fulfil.
    /// @param nodeKey The node's ed25519 public key.
    function removeNode(bytes32 nodeKey) external onlyOwner {
        Node memory node = nodes[nodeKey];
        if (!node.active) revert UnknownNode(nodeKey);
        delete nodes[nodeKey];
        delete nodeKeyOf[node.transmitter];
        emit NodeRemoved(nodeKey, node.transmitter);
    }

    /// @notice Sets the least fee a request must carry.
    /// @param fee The fee in wei; 0 makes requests free.
    function setRequestFee(uint256 fee) external onlyOwner {
        requestFee = fee;
        emit RequestFeeSet(fee);
    }

    /// @notice Offers ownership to `newOwner`, who must accept it.
    /// @param newOwner The proposed owner; zero withdraws the offer.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// @notice Takes the ownership offered to the caller.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    // ---------------------------------------------------------------- internal

    function _requirePending(uint256 requestId, RequestState state) private pure {
        if (state == RequestState.Pending) return;
        if (state == RequestState.None) revert UnknownRequest(requestId);
        if (state == RequestState.Fulfilled) revert AlreadyFulfilled(requestId);
        revert RequestNotPending(requestId, state);
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// @dev Gives the consumer exactly `gasLimit`: the call is refused when, after the 1/64 that
    /// EIP-150 keeps back, less than that would reach it, so a transmitter cannot starve a
    /// callback by sending too little gas. At most `MAX_REASON_BYTES` of revert data are copied,
    /// so a consumer cannot make the hub run out of gas with a huge revert.
    function _callConsumer(uint256 requestId, address consumer, uint32 gasLimit, LoanTerms calldata terms)
        private
    {
        bytes memory callData = abi.encodeCall(ILoanTermsConsumer.onLoanTerms, (requestId, terms));
        bool called;
        bool success;
        uint256 left;
        assembly ("memory-safe") {
            left := gas()
            if gt(left, CALL_GAS_OVERHEAD) {
                let available := sub(left, CALL_GAS_OVERHEAD)
                if gt(sub(available, div(available, 64)), gasLimit) {
                    called := 1
                    success := call(gasLimit, consumer, 0, add(callData, 0x20), mload(callData), 0, 0)
                }
            }
        }
        if (!called) revert InsufficientGasForCallback(left, gasLimit);
        if (success) return;
        bytes memory reason;
        assembly ("memory-safe") {
            let size := returndatasize()
            if gt(size, MAX_REASON_BYTES) { size := MAX_REASON_BYTES }
            reason := mload(0x40)
            mstore(reason, size)
            returndatacopy(add(reason, 0x20), 0, size)
            mstore(0x40, add(add(reason, 0x20), and(add(size, 31), not(31))))
        }
        emit CallbackFailed(requestId, reason);
    }
}
