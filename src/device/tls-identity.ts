/*
 * The device's TLS client identity for the broker, and the factory's side of
 * provisioning (docs/factory.md).
 *
 * On first boot (no "tls-key" in the keystore) the device makes an RSA-2048
 * key from the hardware RNG (hardware/csr) and keeps it, PKCS#8 DER, in the
 * keystore: it never leaves the device. The factory station then talks to
 * the device over its local provisioning channel, JSON request and reply:
 *
 *   {"doorward":"csr"}
 *     -> {"ok":true,"deviceId","topicId","csr": PEM (CN = topic id),
 *         "tlsPublicKey": SPKI DER in hex,
 *         "signingPublicKey","agreementPublicKey": hex,"fingerprint"}
 *   {"doorward":"provision","configuration":{...},"certificate": PEM,
 *    "updateRoot": a signed root file in hex}
 *     -> {"ok":true,"locked":true,"deviceId","updateRoot": root version}
 *
 * "provision" refuses a configuration that src/device/configuration.ts
 * refuses, one without broker.tls, one that carries any key, a certificate
 * that is not for this device's key, and an update root that is missing,
 * not signed by its own root keys, or not the one the device already trusts.
 * On success the device stores the update root (src/update/root-store.ts),
 * the certificate, the configuration, then the lock record, in that order,
 * and replies. From then on every factory request is refused with
 * {"ok":false,"error":"provisioning is locked"}: only erasing the flash
 * (and with it the device's identity) unlocks it, and nothing on the local
 * channel can set or change the update root; only a signed rotation can.
 */
import type { FlashRegion } from "store/flash-region";
import { readRecord, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import { read, write } from "hardware/keystore";
import { wipe } from "hardware/crypto";
import { certificateMatches, certificationRequest, generateKey, publicKey } from "hardware/csr";
import { parseConfiguration, storeConfiguration } from "device/configuration";
import type { Configuration } from "device/configuration";
import type { Identity } from "device/identity";
import type { DeviceKeys } from "device/keys";
import { fromHex, pemBlocks, toHex, toPem, utf8Encode } from "util/bytes";

/** The keystore entry of the TLS private key (src/main.ts reads it for the broker). */
export const tlsKeyEntry = "tls-key";
/** Flash records (partition "doorward"): the client certificate (PEM) and the provisioning lock. */
export const clientCertificateSector = Sectors.clientCertificate;
const lockSector = Sectors.provisioningLock;

/**
 * Whether a stored key is ours (PKCS#8 DER) rather than a PEM text that a
 * development build's interim configuration path wrote (device/interim).
 */
const isDer = (key: Uint8Array) => key.length > 0 && key[0] === 0x30;

/**
 * Makes the TLS key on first boot. Returns whether it was made now; on the
 * device this takes seconds, so it runs once, before the device asks for
 * provisioning.
 */
export function loadOrCreateTlsKey(): { created: boolean } {
	const stored = read(tlsKeyEntry);
	if (stored) {
		wipe(stored);
		return { created: false };
	}
	const key = generateKey();
	write(tlsKeyEntry, key);
	wipe(key);
	return { created: true };
}

/**
 * The key the device made, for the TLS socket's clientKey (DER), or
 * undefined; the caller wipes it once the socket has it. A key that came in
 * from outside is not returned: only a development build reads that one.
 */
export function tlsClientKey(): Uint8Array | undefined {
	const key = read(tlsKeyEntry);
	if (!key || isDer(key))
		return key;
	wipe(key);
	return undefined;
}

export function provisioningLocked(flash: FlashRegion): boolean {
	return readRecord(flash, lockSector) !== undefined;
}

export type FactoryRequest = Record<string, unknown>;
export type FactoryReply = Record<string, unknown>;

/** Whether a local-channel request is for the factory (rather than pairing). */
export function isFactoryRequest(message: unknown): message is FactoryRequest {
	return (typeof message === "object") && (message !== null)
		&& (((message as FactoryRequest).doorward === "csr") || ((message as FactoryRequest).doorward === "provision"));
}

function withKey<T>(use: (key: Uint8Array) => T): T {
	const key = read(tlsKeyEntry);
	if (!key || !isDer(key)) {
		if (key)
			wipe(key);
		throw new Error("this device has no TLS key of its own");
	}
	try {
		return use(key);
	}
	finally {
		wipe(key);
	}
}

function hasKeyField(value: unknown, depth = 0): boolean {
	if ((typeof value !== "object") || (value === null) || (depth > 4))
		return false;
	return Object.keys(value).some((name) => /key|password/i.test(name) || hasKeyField((value as Record<string, unknown>)[name], depth + 1));
}

/**
 * The factory's requests on the local channel. `installRoot` checks and
 * stores the update root (src/update/ota.ts installFactoryRoot), and returns
 * its version; `onProvisioned` gets the configuration once it is stored and
 * provisioning is locked.
 */
export function factoryHandler(flash: FlashRegion, identity: Identity, keys: DeviceKeys, installRoot: (root: Uint8Array) => { version: number },
	onProvisioned: (configuration: Configuration) => void): (request: FactoryRequest) => FactoryReply {
	return (request) => {
		try {
			if (provisioningLocked(flash))
				throw new Error("provisioning is locked");
			if (request.doorward === "csr") {
				const { csr, spki } = withKey((key) => ({ csr: certificationRequest(key, identity.topicId), spki: publicKey(key) }));
				return {
					ok: true,
					deviceId: identity.deviceId,
					topicId: identity.topicId,
					csr: toPem("CERTIFICATE REQUEST", csr),
					tlsPublicKey: toHex(spki),
					signingPublicKey: toHex(keys.signingPublicKey),
					agreementPublicKey: toHex(keys.agreementPublicKey),
					fingerprint: keys.fingerprint,
				};
			}
			// "provision"
			if ((typeof request.configuration !== "object") || (request.configuration === null))
				throw new RangeError("provision: configuration must be an object");
			if (hasKeyField(request.configuration))
				throw new RangeError("provision: a configuration carries no keys or passwords");
			const configuration = parseConfiguration(utf8Encode(JSON.stringify(request.configuration)));
			if (!configuration.broker.tls)
				throw new RangeError("provision: a certificate needs broker.tls");
			if ((typeof request.certificate !== "string") || (request.certificate.length > 3000) || !request.certificate.includes("-----BEGIN CERTIFICATE-----"))
				throw new RangeError("provision: certificate must be one PEM certificate");
			const blocks = pemBlocks(request.certificate);
			if (blocks.length !== 1)
				throw new RangeError("provision: certificate must be one PEM certificate");
			if (!withKey((key) => certificateMatches(blocks[0], key)))
				throw new RangeError("provision: the certificate is not for this device's key");
			// A signed root file: 13 bytes at least, 1062 at most (docs/protocol/update.md, Limits).
			if ((typeof request.updateRoot !== "string") || !/^([0-9a-f]{2}){13,1062}$/.test(request.updateRoot))
				throw new RangeError("provision: updateRoot must be a signed root file in hex");
			// The root first, since it is the last thing checked: a refused one leaves nothing written. Then
			// the rest, and the lock: after it nothing local can set the root, only a signed rotation can change it.
			const { version } = installRoot(fromHex(request.updateRoot));
			writeRecord(flash, clientCertificateSector, utf8Encode(request.certificate));
			storeConfiguration(flash, configuration);
			writeRecord(flash, lockSector, utf8Encode(JSON.stringify({ locked: true, deviceId: identity.deviceId })));
			onProvisioned(configuration);
			return { ok: true, locked: true, deviceId: identity.deviceId, updateRoot: version };
		}
		catch (error) {
			return { ok: false, error: (error as Error).message };
		}
	};
}
