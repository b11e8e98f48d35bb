/*
 * The device's keys, made on first boot from the hardware RNG and kept in
 * the keystore (encrypted NVS on the device): an Ed25519 identity key that
 * signs every event, an X25519 key for messages addressed to the device, and
 * an AES-256 storage key for clips kept on the device. None is derived from
 * a serial number, none is in the firmware image, none is ever logged; only
 * the public halves and their fingerprint leave this module.
 *
 * And the record key, which authenticates the records and the counter of the
 * `doorward` partition (store/record, store/counter): 32 bytes from the
 * hardware RNG, made once, at first boot, before any record is written
 * (openRecords() runs first in boot), and kept in its own keystore entry.
 * It never leaves the device either: a record it authenticates cannot come
 * from another device.
 */
import { read, write } from "hardware/keystore";
import { bytes } from "hardware/random";
import { digest, ed25519PublicKey, ed25519Sign, hmac, x25519PublicKey, wipe } from "hardware/crypto";
import type { Signer } from "crypto/envelope";
import { AeadAes256Gcm, Mode, setupRecipient } from "crypto/hpke";
import type { FlashRegion } from "store/flash-region";
import { readRecord, recordRegion, sectorErased } from "store/record";
import { Sectors } from "store/layout";
import { concat, toHex } from "util/bytes";

const entry = "device-keys";
const recordKeyEntry = "record-key";
const keySize = 32;

export interface DeviceKeys {
	readonly signer: Signer;
	readonly signingPublicKey: Uint8Array;
	readonly agreementPublicKey: Uint8Array;
	/** The identity a pairing label (QR code) shows: see fingerprint(). */
	readonly fingerprint: string;
	/** For clips kept on the device: not used by the publishing path. */
	storageKey(): Uint8Array;
	/**
	 * Opens an HPKE base-mode message sealed to the device's X25519 key (a
	 * phone's request: requests/format); throws if it does not authenticate.
	 * The secret key stays in this module.
	 */
	open(enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
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
	const keys: DeviceKeys = Object.freeze({
		signer: Object.freeze({ sign: (message: Uint8Array) => ed25519Sign(signingSeed, message) }),
		signingPublicKey,
		agreementPublicKey,
		fingerprint: fingerprint(signingPublicKey, agreementPublicKey),
		storageKey: () => storage.slice(),
		open(enc: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
			const context = setupRecipient(Mode.Base, AeadAes256Gcm, enc, { secretKey: agreementSecret, publicKey: agreementPublicKey }, { info });
			try {
				return context.open(aad, ciphertext);
			}
			finally {
				context.close();
			}
		},
	});
	return { keys, created };
}

/**
 * The `doorward` partition (store/layout) with its record key, made now if
 * this is the first boot. Every record in it is read once here, so that one
 * that fails (store/record) stops the boot with its reason before anything
 * uses the partition; the counter is checked where it is opened.
 */
export function openRecords(flash: FlashRegion, partition: string): { records: FlashRegion; created: boolean } {
	let key = read(recordKeyEntry);
	let created = false;
	if (!key) {
		// The key comes before any record; a written sector without it was
		// written under another key, or by firmware from before records were
		// authenticated (none was shipped): refused, not adopted.
		for (const sector of [...Object.values(Sectors), Sectors.sequence + 1]) { // the counter takes two sectors
			if (!sectorErased(flash, sector))
				throw new Error(`records: ${partition} sector ${sector} is written, but the keystore has no record key (a lost keystore, or firmware from before records were authenticated): erase the flash and provision the device again`);
		}
		key = bytes(keySize);
		write(recordKeyEntry, key);
		created = true;
	}
	if (key.length !== keySize)
		throw new Error("keys: the stored record key has the wrong size");
	const recordKey = key;
	const records = recordRegion(flash, partition, Sectors, (message) => hmac("SHA-256", recordKey, message));
	for (const [name, sector] of Object.entries(Sectors)) {
		if (name !== "sequence")
			readRecord(records, sector);
	}
	return { records, created };
}
