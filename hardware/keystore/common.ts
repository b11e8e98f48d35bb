/*
 * What every keystore accepts, whatever stores it: the limits of Moddable's
 * Preference on the ESP32 (modules/files/preference/esp32/modPreference.c),
 * which is ESP-IDF NVS underneath. lin's and the simulator's stores are more
 * lenient (lin's SDK Preference takes any key and any JSON value), so every
 * keystore checks here first and an entry the device would refuse fails on
 * lin and in the tests too, with the same error.
 *
 * The ESP32 module, read against ESP-IDF's NVS:
 *  - domain and key are NVS namespace and key names: C strings of at most
 *    15 characters (NVS_KEY_NAME_MAX_SIZE is 16 with the terminator); a
 *    longer one fails in nvs_open or nvs_set_* as "nvs set fail". An empty
 *    name or one with a NUL is not a name either.
 *  - values: a boolean (u8); a number only if it is an integer that fits
 *    int32 (a fraction throws "float unsupported", and a larger integer
 *    would be cast to int); a string, at most 4000 bytes with its NUL
 *    terminator and none inside; an ArrayBuffer, as a blob (the module tests
 *    instanceof ArrayBuffer: a typed array, a DataView or a host buffer is
 *    "unsupported type"). Nothing else.
 *  - blobs: NVS keeps at most 4000 bytes in one page (the same bound as a
 *    string) and splits a longer blob across pages, which must be free in
 *    the 28 KiB nvs partition (hardware/boards/.../partitions.csv) when it
 *    is written. Doorward keeps every entry within one page, so a write never
 *    depends on how full the partition is.
 *  - NVS keeps one page of its partition erased for its own garbage
 *    collection (nvs_flash's design): of its 7 pages, 6 hold entries, about
 *    a page's worth for each of the six entries below (each blob's index
 *    and the namespace take an entry of their own too). It writes an entry's
 *    new item before it erases the old one, so a power cut leaves the old
 *    value or the new, never neither; lin's and the simulator's stores keep
 *    that contract with a spare sector of their own (hardware/keystore/records).
 */

/** The NVS namespace of every keystore entry. */
export const domain = "doorward";

/** Namespace and key names: NVS_KEY_NAME_MAX_SIZE (16) less the terminator. */
export const maxNameLength = 15;

/** Strings, in UTF-8, and blobs: what NVS keeps in one page (4000 bytes; a string's include its terminator). */
export const maxStringBytes = 3999;
export const maxBlobBytes = 4000;

function utf8Length(text: string): number {
	let bytes = 0;
	for (const character of text) {
		const code = character.codePointAt(0)!;
		bytes += (code < 0x80) ? 1 : (code < 0x800) ? 2 : (code < 0x10000) ? 3 : 4;
	}
	return bytes;
}

function describe(value: unknown): string {
	if (value === null)
		return "null";
	if (ArrayBuffer.isView(value))
		return "a view";
	return (typeof value === "object") ? "another object" : typeof value;
}

function checkName(what: string, name: unknown): void {
	if (typeof name !== "string")
		throw new TypeError(`preference: the ${what} must be a string`);
	// Printable ASCII: NVS compares names as C strings, byte for byte.
	if (!/^[\x21-\x7e]+$/.test(name))
		throw new RangeError(`preference: ${what} ${JSON.stringify(name)} is not a name of printable ASCII characters`);
	if (name.length > maxNameLength)
		throw new RangeError(`preference: ${what} ${name} is ${name.length} characters; NVS takes at most ${maxNameLength}`);
}

/** Throws unless the ESP32's Preference.set(domain, key, value) would store `value` as it is. */
export function checkPreference(domainName: unknown, key: unknown, value: unknown): void {
	checkName("domain", domainName);
	checkName("key", key);
	switch (typeof value) {
	case "boolean":
		return;
	case "number":
		if (!Number.isInteger(value) || (value < -0x80000000) || (value > 0x7FFFFFFF))
			throw new RangeError(`preference: ${key}: a number must be an integer from -2^31 to 2^31-1, not ${value}`);
		return;
	case "string":
		if (value.includes("\0"))
			throw new RangeError(`preference: ${key}: a string cannot hold a NUL character`);
		if (utf8Length(value) > maxStringBytes)
			throw new RangeError(`preference: ${key}: a string is at most ${maxStringBytes} bytes of UTF-8, not ${utf8Length(value)}`);
		return;
	case "object":
		if (value instanceof ArrayBuffer) {
			if (value.byteLength > maxBlobBytes)
				throw new RangeError(`preference: ${key}: ${value.byteLength} bytes; a blob is at most ${maxBlobBytes} (one NVS page)`);
			return;
		}
		break;
	default:
		break;
	}
	throw new TypeError(`preference: ${key}: the ESP32 stores a boolean, an int32, a string or an ArrayBuffer, not ${describe(value)}`);
}

/** Throws unless `name` can name a keystore entry. */
export function checkEntryName(name: unknown): asserts name is string {
	checkName("key", name);
}

/** Throws unless `secret` can be stored as keystore entry `name`: a Uint8Array that fits one blob. */
export function checkEntry(name: unknown, secret: unknown): asserts secret is Uint8Array {
	checkEntryName(name);
	if (!(secret instanceof Uint8Array))
		throw new TypeError(`keystore: entry ${name} must be a Uint8Array`);
	if (secret.length > maxBlobBytes)
		throw new RangeError(`keystore: entry ${name} is ${secret.length} bytes; an entry is at most ${maxBlobBytes} (one NVS page)`);
}

/**
 * The entries the firmware keeps, by name: fixed. The stores that keep one
 * flash record per entry (the simulator's and lin's, hardware/keystore/records)
 * need one 4 KiB sector of the "nvs" partition for each, and one spare more;
 * a new entry needs a sector added to the board's nvs partition too.
 */
export const entryNames: readonly string[] = Object.freeze(["device-keys", "recipients", "tls-key", "record-key", "onboarding", "wifi"]);

/** Throws unless `name` names one of the firmware's entries. */
export function checkKnownEntry(name: unknown): asserts name is string {
	checkEntryName(name);
	if (!entryNames.includes(name))
		throw new RangeError(`keystore: no entry named ${name}`);
}
