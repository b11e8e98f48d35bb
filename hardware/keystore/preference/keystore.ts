/*
 * The keystore on the device: Moddable's `preference` module, which on the
 * ESP32 is ESP-IDF NVS. With CONFIG_NVS_ENCRYPTION and flash encryption (see
 * the board's README) NVS encrypts every entry under keys kept in the
 * encrypted nvs_keys partition. That is XTS-AES, which hides entries but
 * does not authenticate them: a changed entry decrypts to garbage that NVS's
 * CRC-32 most likely rejects, and an older entry written back where it was
 * reads as valid. What must not be forged carries its own MAC or signature
 * (store/record, docs/threat-model.md). Entries are checked
 * against NVS's limits (hardware/keystore/common) before Preference sees
 * them, the same check lin's and the simulator's keystores make.
 *
 * Not for lin: there the SDK's Preference (modules/files/preference/lin) is
 * a class whose static cache is read from its file when the module is
 * evaluated. Every module that imports the keystore is preloaded, so that
 * happens in the linker, where the file functions are unavailable: the cache
 * is always empty at boot, and saving it fails too (JSON.stringify of an
 * object made during preload throws "read only value" in XS), leaving an
 * empty file. lin uses hardware/keystore/lin.
 */
import Preference from "preference";
import { checkEntry, checkEntryName, checkPreference, domain } from "hardware/keystore/common";

export function read(name: string): Uint8Array | undefined {
	checkEntryName(name);
	const value = Preference.get(domain, name);
	if (value === undefined)
		return undefined;
	if (!(value instanceof ArrayBuffer))
		throw new Error(`keystore: entry ${name} is not binary`);
	return new Uint8Array(value);
}

export function write(name: string, secret: Uint8Array): void {
	checkEntry(name, secret);
	const value = secret.slice().buffer as ArrayBuffer;
	checkPreference(domain, name, value);
	Preference.set(domain, name, value);
}
