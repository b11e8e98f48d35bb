/*
 * The development builds' side of device/interim (interim.d.ts): the
 * interim configuration path. The simulators use it to configure a device
 * without a factory, and `doorward sim --cert --key` to hand it a TLS
 * client identity made elsewhere. A release build does not contain this
 * module (variants/release/manifest.json maps release.ts instead).
 *
 * A configuration message may carry broker.tls.certificate and
 * broker.tls.key (PEM). The certificate goes to its flash record, the key
 * to the keystore entry of the device's own key, kept in PEM: that is how
 * device/tls-identity tells it from a key the device made, and refuses to
 * put it in a CSR.
 *
 * It may also carry `updateRoot`, a signed root file in hex: the stand-in
 * for the factory line, which sends it with "provision" before the lock
 * (docs/factory.md). It is checked and stored as the factory's is
 * (update/ota installFactoryRoot: signed by its own root keys, never
 * replacing another), and refused on a locked device.
 */
import type { Configuration } from "device/configuration";
import { parseConfiguration, storeConfiguration } from "device/configuration";
import { log } from "device/log";
import { clientCertificateSector, provisioningLocked, tlsClientKey, tlsKeyEntry } from "device/tls-identity";
import { installFactoryRoot } from "update/ota";
import type { FlashRegion } from "store/flash-region";
import { writeRecord } from "store/record";
import { requestConfiguration } from "hardware/provisioning";
import { read, write } from "hardware/keystore";
import { wipe } from "hardware/crypto";
import { fromHex, pemBlocks, utf8Decode, utf8Encode } from "util/bytes";

/** The device's TLS client identity, which arrives with the configuration and is kept apart from it. */
export interface ClientCredentials {
	readonly certificate: string;
	readonly key: string;
}

const isPem = (label: string) => (value: unknown) => (typeof value === "string") && (value.length < 4000) && value.includes(`-----BEGIN ${label}`);

/** Takes the client certificate and key out of a configuration message, if it has them; throws RangeError naming a bad field. */
export function parseClientCredentials(bytes: Uint8Array): ClientCredentials | undefined {
	const json = JSON.parse(utf8Decode(bytes));
	const tls = json?.broker?.tls;
	if ((tls?.certificate === undefined) && (tls?.key === undefined))
		return undefined;
	if (!isPem("CERTIFICATE")(tls.certificate))
		throw new RangeError(`configuration: broker.tls.certificate is ${(tls.certificate === undefined) ? "required" : "invalid"}`);
	if (!isPem("")(tls.key))
		throw new RangeError(`configuration: broker.tls.key is ${(tls.key === undefined) ? "required" : "invalid"}`);
	return Object.freeze({ certificate: tls.certificate as string, key: tls.key as string });
}

/** The update root a configuration message carries, if any; throws RangeError if it is not hex. */
function updateRootOf(bytes: Uint8Array): Uint8Array | undefined {
	const root = JSON.parse(utf8Decode(bytes)).updateRoot;
	if (root === undefined)
		return undefined;
	if ((typeof root !== "string") || !/^([0-9a-f]{2}){13,1062}$/.test(root))
		throw new RangeError("configuration: updateRoot must be a signed root file in hex");
	return fromHex(root);
}

export async function firstConfiguration(flash: FlashRegion, provisioned: Promise<Configuration>): Promise<Configuration> {
	for (;;) {
		const arrived = await Promise.race([provisioned, requestConfiguration()]);
		if (!(arrived instanceof ArrayBuffer))
			return arrived;
		const message = new Uint8Array(arrived);
		try {
			const configuration = parseConfiguration(message);
			const credentials = parseClientCredentials(message);
			const root = updateRootOf(message);
			// The root first: refused, it leaves nothing written; the configuration, last, marks the device configured.
			if (root) {
				if (provisioningLocked(flash))
					throw new Error("provisioning is locked: the update root changes only through a signed rotation");
				const trusted = installFactoryRoot(flash, root);
				log.info(`update root ${trusted.version} (${trusted.channel}) trusted`);
			}
			if (credentials) {
				writeRecord(flash, clientCertificateSector, utf8Encode(credentials.certificate));
				write(tlsKeyEntry, utf8Encode(credentials.key));
			}
			storeConfiguration(flash, configuration);
			log.info("configuration stored");
			return configuration;
		}
		catch (error) {
			log.error(`provisioning refused: ${(error as Error).message}`);
		}
	}
}

export function clientKey(): Uint8Array | undefined {
	const own = tlsClientKey();
	if (own)
		return own;
	const stored = read(tlsKeyEntry);
	if (!stored)
		return undefined;
	// The key that came in PEM with a configuration message.
	const [der] = pemBlocks(utf8Decode(stored));
	wipe(stored);
	return der;
}
