/*
 * The device's keys, made on first boot from the hardware RNG and kept in
 * the keystore (encrypted NVS on the device): an Ed25519 identity key that
 * signs every event, an X25519 key for messages addressed to the device, and
 * an AES-256 storage key for clips kept on the device. None is derived from
 * a serial number, none is in the firmware image, none is ever logged; only
 * the public halves and their fingerprint leave this module.
 */
import { read, write } from "hardware/keystore";
import { bytes } from "hardware/random";
import { digest, ed25519PublicKey, ed25519Sign, x25519PublicKey, wipe } from "hardware/crypto";
import type { Signer } from "crypto/envelope";
import { concat, toHex } from "util/bytes";

const entry = "device-keys";
const keySize = 32;

export interface DeviceKeys {
	readonly signer: Signer;
	readonly signingPublicKey: Uint8Array;
	readonly agreementPublicKey: Uint8Array;
	/** The identity a pairing label (QR code) shows: see fingerprint(). */
	readonly fingerprint: string;
	/** For clips kept on the device: not used by the publishing path. */
	storageKey(): Uint8Array;
}

/** SHA-256 over both public keys, first 16 bytes, hex in groups of four. */
export function fingerprint(signingPublicKey: Uint8Array, agreementPublicKey: Uint8Array): string {
	const hex = toHex(digest("SHA-256", concat([signingPublicKey, agreementPublicKey])).subarray(0, 16));
	return hex.match(/.{4}/g)!.join("-");
}

export function loadOrCreateKeys(): { keys: DeviceKeys; created: boolean } {
	let secret = read(entry);
	let created = false;
	if (!secret) {
		secret = bytes(3 * keySize);
		write(entry, secret);
		created = true;
	}
	if (secret.length !== 3 * keySize)
		throw new Error("keys: the stored device keys have the wrong size");
	// Each secret is held in its own buffer; the combined one is wiped now.
	const signingSeed = secret.slice(0, keySize);
	const agreementSecret = secret.slice(keySize, 2 * keySize);
	const storage = secret.slice(2 * keySize);
	wipe(secret);
	const signingPublicKey = ed25519PublicKey(signingSeed);
	const agreementPublicKey = x25519PublicKey(agreementSecret);
	wipe(agreementSecret); // unused until the device receives addressed messages
	const keys: DeviceKeys = Object.freeze({
		signer: Object.freeze({ sign: (message: Uint8Array) => ed25519Sign(signingSeed, message) }),
		signingPublicKey,
		agreementPublicKey,
		fingerprint: fingerprint(signingPublicKey, agreementPublicKey),
		storageKey: () => storage.slice(),
	});
	return { keys, created };
}
