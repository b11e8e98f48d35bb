/*
 * The keystore's limits are the ESP32 Preference's (ESP-IDF NVS), checked
 * in hardware/keystore/common by every keystore: what the device would
 * refuse is refused here, in the simulator's keystore, with the same error,
 * and what the device stores round-trips.
 */
import { bytesEqual, equal, ok, test, throws } from "tests/harness";
import { read, write } from "hardware/keystore";
import { checkPreference, domain, maxBlobBytes, maxNameLength, maxStringBytes } from "hardware/keystore/common";
import resource from "hardware/resource";

test("what the ESP32's Preference stores passes: booleans, int32s, strings to 3999 bytes, ArrayBuffers to 4000", () => {
	equal(maxNameLength, 15, "NVS names");
	for (const value of [true, false, 0, -0x80000000, 0x7FFFFFFF, "", "x".repeat(maxStringBytes), "é".repeat(1999), new ArrayBuffer(0), new ArrayBuffer(maxBlobBytes)])
		checkPreference(domain, "a-15-char-name!", value);
	checkPreference("fifteen-chars-d", "k", 1);
});

test("names the ESP32 refuses are refused: empty, over 15 characters, not printable ASCII, not strings", () => {
	throws(() => checkPreference(domain, "sixteen-chars-ab", 1), /sixteen-chars-ab is 16 characters; NVS takes at most 15/, "16-character key");
	throws(() => checkPreference("sixteen-chars-ab", "k", 1), /domain sixteen-chars-ab is 16 characters/, "16-character domain");
	throws(() => checkPreference(domain, "", 1), /not a name of printable ASCII/, "empty key");
	throws(() => checkPreference(domain, "a b", 1), /not a name of printable ASCII/, "a space");
	throws(() => checkPreference(domain, "a\0b", 1), /not a name of printable ASCII/, "a NUL");
	throws(() => checkPreference(domain, "clé", 1), /not a name of printable ASCII/, "not ASCII");
	throws(() => checkPreference(domain, 7, 1), /key must be a string/, "a number as key");
});

test("values the ESP32 refuses are refused: fractions, numbers past int32, long strings and blobs, views, host buffers", () => {
	throws(() => checkPreference(domain, "k", 1.5), /integer from -2\^31 to 2\^31-1, not 1.5/, "a fraction");
	throws(() => checkPreference(domain, "k", 0x80000000), /integer from -2\^31/, "2^31");
	throws(() => checkPreference(domain, "k", Number.NaN), /integer from -2\^31/, "NaN");
	throws(() => checkPreference(domain, "k", "x".repeat(maxStringBytes + 1)), /at most 3999 bytes of UTF-8, not 4000/, "a 4000-byte string");
	throws(() => checkPreference(domain, "k", "é".repeat(2000)), /not 4000/, "2000 two-byte characters");
	throws(() => checkPreference(domain, "k", "a\0b"), /NUL/, "a NUL in a string");
	throws(() => checkPreference(domain, "k", new ArrayBuffer(maxBlobBytes + 1)), /4001 bytes; a blob is at most 4000/, "a 4001-byte blob");
	throws(() => checkPreference(domain, "k", new Uint8Array(4)), /not a view/, "a Uint8Array");
	throws(() => checkPreference(domain, "k", new DataView(new ArrayBuffer(4))), /not a view/, "a DataView");
	throws(() => checkPreference(domain, "k", resource("face_detection_full_range_int8.tflite")), /not another object/, "a host buffer");
	throws(() => checkPreference(domain, "k", null), /not null/, "null");
	throws(() => checkPreference(domain, "k", undefined), /not undefined/, "undefined");
	throws(() => checkPreference(domain, "k", {}), /not another object/, "an object");
});

test("the keystore keeps an entry of 4000 bytes and refuses one of 4001, a long name and a non-Uint8Array", () => {
	const secret = new Uint8Array(maxBlobBytes).map((_, i) => (i * 37) & 0xFF);
	write("recipients", secret);
	bytesEqual(read("recipients")!, secret, "4000 bytes round-trip");
	throws(() => write("recipients", new Uint8Array(maxBlobBytes + 1)), /recipients is 4001 bytes; an entry is at most 4000/, "4001 bytes");
	bytesEqual(read("recipients")!, secret, "the refused write left the entry as it was");
	throws(() => write("a-name-of-16-ch", new Uint8Array(1)), /no entry named/, "a 15-character name the firmware does not use");
	throws(() => write("device-keys-long", new Uint8Array(1)), /16 characters; NVS takes at most 15/, "a 16-character name");
	throws(() => read("device-keys-long"), /16 characters; NVS takes at most 15/, "read, a 16-character name");
	throws(() => write("tls-key", [1, 2, 3] as unknown as Uint8Array), /must be a Uint8Array/, "an array");
	ok(read("tls-key") === undefined, "nothing was written");
});
