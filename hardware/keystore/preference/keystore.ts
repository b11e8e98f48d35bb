/*
 * The keystore on the device (and on Moddable's lin simulator): Moddable's
 * `preference` module, which on the ESP32 is ESP-IDF NVS. With
 * CONFIG_NVS_ENCRYPTION and flash encryption (see the board's README)
 * NVS encrypts every entry under keys kept in the encrypted nvs_keys
 * partition. That is XTS-AES, which hides entries but does not authenticate
 * them: a changed entry decrypts to garbage that NVS's CRC-32 most likely
 * rejects, and an older entry written back where it was reads as valid.
 * What must not be forged carries its own MAC or signature
 * (store/record, docs/threat-model.md). On lin, preferences are plain files:
 * lin is for development, and its keys protect nothing real.
 */
import Preference from "preference";

const domain = "doorward";

function checkName(name: string): void {
	// NVS keys are at most 15 characters.
	if ((typeof name !== "string") || !name.length || (name.length > 15))
		throw new RangeError(`keystore: invalid entry name ${name}`);
}

export function read(name: string): Uint8Array | undefined {
	checkName(name);
	const value = Preference.get(domain, name);
	if (value === undefined)
		return undefined;
	if (!(value instanceof ArrayBuffer))
		throw new Error(`keystore: entry ${name} is not binary`);
	return new Uint8Array(value);
}

export function write(name: string, secret: Uint8Array): void {
	checkName(name);
	Preference.set(domain, name, secret.slice().buffer);
}
