import { test, equal, ok, throws } from "tests/harness";
import { bytes, fill, below } from "hardware/random";

test("random bytes come from the host RNG and differ between calls", () => {
	const a = bytes(32);
	const b = bytes(32);
	equal(a.length, 32, "length");
	ok(a.some((byte, i) => byte !== b[i]), "two 32-byte draws differ");
	ok(a.some((byte) => byte !== 0), "not all zero");
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
