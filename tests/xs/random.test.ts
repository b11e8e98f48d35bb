/*
 * hardware/random's contract, on the simulator host's model of the
 * device's RNG (hardware/random/linux/random.c): at power-on the radio is
 * off and the internal entropy source is not enabled, so nothing may be
 * drawn until withTrueRandom() enables it; if it cannot be enabled, nothing
 * is drawn at all, and the firmware's first boot makes no identity and no
 * key.
 */
import { test, equal, ok, throws } from "tests/harness";
import Flash from "flash";
import { bytes, fill, below, source, withTrueRandom } from "hardware/random";
import { generateKey } from "hardware/csr";
import { read } from "hardware/keystore";
import { loadOrCreateIdentity } from "device/identity";
import { loadOrCreateKeys, openRecords } from "device/keys";
import { flashRegion } from "store/flash-region";
import { readPlainRecord } from "store/record";
import { Sectors } from "store/layout";

interface Model {
	radio: boolean;
	entropyAvailable: boolean;
	entropyOn: boolean;
	radioFills: number;
	entropyFills: number;
	refusedFills: number;
	entropyEnabled: number;
}

/** The host's RNG model: its state and counters, after applying `settings`. */
function model(settings?: Partial<Pick<Model, "radio" | "entropyAvailable">>): Model {
	return native("xs_random_model").call(undefined, settings);
}

const noEntropy = /no true random source/;

test("at power-on nothing is true random, and every draw enables the entropy source for itself only", () => {
	model({ radio: false, entropyAvailable: true });
	equal(source(), "none", "radio off, entropy source off");
	const before = model();
	const a = bytes(32);
	const b = bytes(32);
	ok(a.some((byte, i) => byte !== b[i]), "two 32-byte draws differ");
	ok(a.some((byte) => byte !== 0), "not all zero");
	const after = model();
	equal(after.entropyEnabled - before.entropyEnabled, 2, "enabled once per draw");
	equal(after.entropyFills - before.entropyFills, 2, "both drawn while it was on");
	equal(after.radioFills - before.radioFills, 0, "none under the radio");
	equal(after.entropyOn, false, "off again after each");
	equal(source(), "none", "back to none");
});

test("with no source to enable, nothing is drawn: fill, bytes and below throw and leave the buffer alone", () => {
	model({ radio: false, entropyAvailable: false });
	const before = model();
	const buffer = new Uint8Array(16);
	throws(() => fill(buffer), noEntropy);
	ok(buffer.every((byte) => byte === 0), "the buffer is untouched");
	throws(() => bytes(8), noEntropy);
	throws(() => below(6), noEntropy);
	let ran = false;
	throws(() => withTrueRandom(() => { ran = true; }), noEntropy);
	equal(ran, false, "withTrueRandom does not run its callback");
	const after = model();
	equal(after.entropyFills + after.radioFills, before.entropyFills + before.radioFills, "no fill happened");
	model({ entropyAvailable: true });
});

test("the native fill refuses by itself while no source is on", () => {
	model({ radio: false, entropyAvailable: true });
	const before = model();
	throws(() => native("xs_random_fill").call(undefined, new Uint8Array(4)), noEntropy);
	equal(model().refusedFills - before.refusedFills, 1, "counted as refused");
});

test("with the radio on, draws use it and never touch the entropy source", () => {
	model({ radio: true });
	equal(source(), "radio", "the radio makes it true random");
	const before = model();
	bytes(64);
	fill(new ArrayBuffer(8));
	below(1000);
	const after = model();
	equal(after.entropyEnabled, before.entropyEnabled, "the entropy source was never enabled");
	ok(after.radioFills - before.radioFills >= 3, "drawn under the radio");
	model({ radio: false });
});

test("withTrueRandom() nests: one window, closed once, even when the callback throws", () => {
	model({ radio: false, entropyAvailable: true });
	const before = model();
	withTrueRandom(() => {
		equal(source(), "entropy", "on inside");
		bytes(4);
		withTrueRandom(() => bytes(4));
	});
	equal(model().entropyEnabled - before.entropyEnabled, 1, "enabled once for the whole call");
	throws(() => withTrueRandom(() => { throw new Error("inner failure"); }), /inner failure/);
	equal(source(), "none", "disabled after a throw");
});

test("fill() fills in place and validates its argument", () => {
	const buffer = new Uint8Array(64);
	equal(fill(buffer), buffer, "returns its argument");
	ok(buffer.some((byte) => byte !== 0), "filled");
	throws(() => fill("text" as unknown as Uint8Array), /ArrayBuffer or a Uint8Array/);
	throws(() => bytes(-1), /cannot make -1 bytes/);
});

test("below() stays in range and covers it", () => {
	const seen = new Set<number>();
	for (let i = 0; i < 400; i++) {
		const value = below(6);
		ok(Number.isInteger(value) && (value >= 0) && (value < 6), `in range: ${value}`);
		seen.add(value);
	}
	equal(seen.size, 6, "all six values drawn in 400 tries");
	throws(() => below(0), /invalid bound/);
});

test("first boot without a true random source makes no record key, identity, device keys or TLS key", () => {
	model({ radio: false, entropyAvailable: false });
	const flash = flashRegion(new Flash("doorward"));
	// In src/main.ts's order: the record key, the identity, the device keys, the TLS key.
	throws(() => openRecords(flash, "doorward"), noEntropy);
	equal(read("record-key"), undefined, "no record key stored");
	throws(() => loadOrCreateKeys(), noEntropy);
	equal(read("device-keys"), undefined, "no device keys stored");
	throws(() => generateKey("p-256"), noEntropy);
	equal(readPlainRecord(flash, Sectors.identity), undefined, "nothing written to the identity sector");
	model({ entropyAvailable: true });
});

test("first boot with the radio off makes them all with the entropy source on, and leaves it off", () => {
	model({ radio: false, entropyAvailable: true });
	const before = model();
	const { records, created: newRecordKey } = openRecords(flashRegion(new Flash("doorward")), "doorward");
	equal(newRecordKey, true, "a new record key");
	const { created } = loadOrCreateIdentity(records);
	equal(created, true, "a new identity");
	const keys = loadOrCreateKeys();
	equal(keys.created, true, "new device keys");
	const enabledBeforeKey = model().entropyEnabled;
	const key = generateKey("p-256");
	ok(key.length > 100, "a TLS key");
	key.fill(0);
	const after = model();
	equal(after.entropyEnabled - enabledBeforeKey, 1, "the TLS key was made inside one window");
	ok(after.entropyFills - before.entropyFills >= 4, "record key, identity and keys drawn while the entropy source was on");
	equal(after.radioFills - before.radioFills, 0, "nothing drawn any other way");
	equal(after.refusedFills, before.refusedFills, "nothing refused");
	equal(after.entropyOn, false, "off when boot goes on to Wi-Fi");
});
