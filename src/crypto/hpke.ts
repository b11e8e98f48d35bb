/*
 * HPKE (RFC 9180) with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, for
 * AES-128-GCM or AES-256-GCM, in all four modes. Doorward itself uses the
 * base mode with AES-256-GCM to wrap each clip key to each phone (see
 * docs/protocol/events.md for why not the auth mode); the other modes are
 * here because the RFC's test vectors exercise them and cost a few lines.
 */
import { gcmOpen, gcmSeal, x25519, x25519PublicKey, wipe } from "hardware/crypto";
import { bytes as randomBytes } from "hardware/random";
import { extract, expand } from "./hkdf";
import { concat, utf8Encode } from "util/bytes";

export const Mode = Object.freeze({ Base: 0, Psk: 1, Auth: 2, AuthPsk: 3 } as const);
export type ModeId = typeof Mode[keyof typeof Mode];

export const KemX25519HkdfSha256 = 0x0020;
export const KdfHkdfSha256 = 0x0001;
export const AeadAes128Gcm = 0x0001;
export const AeadAes256Gcm = 0x0002;
export type AeadId = typeof AeadAes128Gcm | typeof AeadAes256Gcm;

const version = utf8Encode("HPKE-v1");
const kemSuite = concat([utf8Encode("KEM"), i2osp(KemX25519HkdfSha256, 2)]);
const nonceLength = 12;

function i2osp(value: number, length: number): Uint8Array {
	const out = new Uint8Array(length);
	for (let i = length - 1; i >= 0 && value > 0; i--) {
		out[i] = value % 256;
		value = Math.floor(value / 256);
	}
	return out;
}

function labeledExtract(suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
	return extract("SHA-256", salt, concat([version, suite, utf8Encode(label), ikm]));
}

function labeledExpand(suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
	return expand("SHA-256", prk, concat([i2osp(length, 2), version, suite, utf8Encode(label), info]), length);
}

export interface KeyPair {
	readonly secretKey: Uint8Array;
	readonly publicKey: Uint8Array;
}

/** DeriveKeyPair (§7.1.3): deterministic, for test vectors and key derivation from a seed. */
export function deriveKeyPair(ikm: Uint8Array): KeyPair {
	const prk = labeledExtract(kemSuite, new Uint8Array(0), "dkp_prk", ikm);
	const secretKey = labeledExpand(kemSuite, prk, "sk", new Uint8Array(0), 32);
	wipe(prk);
	return { secretKey, publicKey: x25519PublicKey(secretKey) };
}

export function generateKeyPair(): KeyPair {
	const ikm = randomBytes(32);
	try {
		return deriveKeyPair(ikm);
	}
	finally {
		wipe(ikm);
	}
}

function extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Uint8Array {
	const prk = labeledExtract(kemSuite, new Uint8Array(0), "eae_prk", dh);
	const sharedSecret = labeledExpand(kemSuite, prk, "shared_secret", kemContext, 32);
	wipe(prk);
	return sharedSecret;
}

function checkKey(key: Uint8Array, what: string): void {
	if (!(key instanceof Uint8Array) || (key.length !== 32))
		throw new RangeError(`hpke: ${what} must be 32 bytes`);
}

export interface SetupOptions {
	info?: Uint8Array;
	psk?: Uint8Array;
	pskId?: Uint8Array;
	/** The sender's static key pair (auth modes). */
	sender?: KeyPair;
	/** The sender's public key, on the receiving side (auth modes). */
	senderPublicKey?: Uint8Array;
	/** Fixes the ephemeral key pair: for test vectors only. */
	ephemeral?: KeyPair;
}

/** An HPKE context: seals or opens a sequence of messages, and exports secrets. */
export class Context {
	#suite: Uint8Array;
	#key: Uint8Array;
	#baseNonce: Uint8Array;
	#exporterSecret: Uint8Array;
	#sequence = 0;

	constructor(suite: Uint8Array, key: Uint8Array, baseNonce: Uint8Array, exporterSecret: Uint8Array) {
		this.#suite = suite;
		this.#key = key;
		this.#baseNonce = baseNonce;
		this.#exporterSecret = exporterSecret;
	}

	#nonce(): Uint8Array {
		if (this.#sequence >= 2 ** 32)
			throw new RangeError("hpke: message limit reached");
		const nonce = this.#baseNonce.slice();
		const counter = i2osp(this.#sequence, nonceLength);
		for (let i = 0; i < nonceLength; i++)
			nonce[i] ^= counter[i];
		return nonce;
	}

	seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
		const sealed = gcmSeal(this.#key, this.#nonce(), plaintext, aad);
		this.#sequence++;
		return sealed;
	}

	open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
		const opened = gcmOpen(this.#key, this.#nonce(), ciphertext, aad);
		this.#sequence++;
		return opened;
	}

	export(exporterContext: Uint8Array, length: number): Uint8Array {
		return labeledExpand(this.#suite, this.#exporterSecret, "sec", exporterContext, length);
	}

	/** Wipes the context's keys; it cannot be used afterwards. */
	close(): void {
		wipe(this.#key);
		wipe(this.#baseNonce);
		wipe(this.#exporterSecret);
	}
}

function hpkeSuite(aead: AeadId): Uint8Array {
	return concat([utf8Encode("HPKE"), i2osp(KemX25519HkdfSha256, 2), i2osp(KdfHkdfSha256, 2), i2osp(aead, 2)]);
}

function keySchedule(mode: ModeId, aead: AeadId, sharedSecret: Uint8Array, options: SetupOptions): Context {
	const psk = options.psk ?? new Uint8Array(0);
	const pskId = options.pskId ?? new Uint8Array(0);
	const usesPsk = (mode === Mode.Psk) || (mode === Mode.AuthPsk);
	if ((psk.length === 0) !== (pskId.length === 0))
		throw new RangeError("hpke: psk and psk_id must both be given or both be empty");
	if (usesPsk !== (psk.length > 0))
		throw new RangeError(`hpke: mode ${mode} ${usesPsk ? "needs" : "takes no"} psk`);
	if (usesPsk && (psk.length < 32))
		throw new RangeError("hpke: a psk needs at least 32 bytes of entropy");
	const suite = hpkeSuite(aead);
	const empty = new Uint8Array(0);
	const context = concat([Uint8Array.of(mode), labeledExtract(suite, empty, "psk_id_hash", pskId), labeledExtract(suite, empty, "info_hash", options.info ?? empty)]);
	const secret = labeledExtract(suite, sharedSecret, "secret", psk);
	const keyLength = (aead === AeadAes128Gcm) ? 16 : 32;
	const key = labeledExpand(suite, secret, "key", context, keyLength);
	const baseNonce = labeledExpand(suite, secret, "base_nonce", context, nonceLength);
	const exporterSecret = labeledExpand(suite, secret, "exp", context, 32);
	wipe(secret);
	return new Context(suite, key, baseNonce, exporterSecret);
}

function checkSetup(mode: ModeId, aead: AeadId, options: SetupOptions, sending: boolean): void {
	if ((aead !== AeadAes128Gcm) && (aead !== AeadAes256Gcm))
		throw new RangeError(`hpke: unsupported AEAD ${aead}`);
	const auth = (mode === Mode.Auth) || (mode === Mode.AuthPsk);
	const hasSender = sending ? options.sender !== undefined : options.senderPublicKey !== undefined;
	if (auth !== hasSender)
		throw new RangeError(`hpke: mode ${mode} ${auth ? "needs" : "takes no"} sender key`);
}

/** SetupS: returns the encapsulated key and the sending context. */
export function setupSender(mode: ModeId, aead: AeadId, recipientPublicKey: Uint8Array, options: SetupOptions = {}): { enc: Uint8Array; context: Context } {
	checkKey(recipientPublicKey, "recipient public key");
	checkSetup(mode, aead, options, true);
	const ephemeral = options.ephemeral ?? generateKeyPair();
	const enc = ephemeral.publicKey;
	let dh = x25519(ephemeral.secretKey, recipientPublicKey);
	let kemContext = concat([enc, recipientPublicKey]);
	if (options.sender) {
		const dhStatic = x25519(options.sender.secretKey, recipientPublicKey);
		dh = concat([dh, dhStatic]);
		wipe(dhStatic);
		kemContext = concat([kemContext, options.sender.publicKey]);
	}
	if (!options.ephemeral)
		wipe(ephemeral.secretKey);
	const sharedSecret = extractAndExpand(dh, kemContext);
	wipe(dh);
	try {
		return { enc, context: keySchedule(mode, aead, sharedSecret, options) };
	}
	finally {
		wipe(sharedSecret);
	}
}

/** SetupR: the receiving context for an encapsulated key. */
export function setupRecipient(mode: ModeId, aead: AeadId, enc: Uint8Array, recipient: KeyPair, options: SetupOptions = {}): Context {
	checkKey(enc, "encapsulated key");
	checkSetup(mode, aead, options, false);
	let dh = x25519(recipient.secretKey, enc);
	let kemContext = concat([enc, recipient.publicKey]);
	if (options.senderPublicKey) {
		checkKey(options.senderPublicKey, "sender public key");
		const dhStatic = x25519(recipient.secretKey, options.senderPublicKey);
		dh = concat([dh, dhStatic]);
		wipe(dhStatic);
		kemContext = concat([kemContext, options.senderPublicKey]);
	}
	const sharedSecret = extractAndExpand(dh, kemContext);
	wipe(dh);
	try {
		return keySchedule(mode, aead, sharedSecret, options);
	}
	finally {
		wipe(sharedSecret);
	}
}
