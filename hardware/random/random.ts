/*
 * Random bytes from the hardware RNG: esp_fill_random on the device,
 * getrandom(2) on Linux (Moddable's lin simulator and the simulator host).
 * Every key, nonce and identifier in Doorward comes from here, never from
 * Math.random or Moddable's `rng` (an RC4 keystream).
 *
 * True random only. The device's RNG is true random only while its radio is
 * on or its internal entropy source is enabled, and pseudo-random otherwise
 * (hardware/random/esp32/random.c); a first boot makes its identity and keys
 * before Wi-Fi is up, or with no Wi-Fi at all. So every fill runs inside
 * withTrueRandom(): when no source is on, it enables the internal one for
 * the length of the call and disables it again (it must be off before Wi-Fi
 * starts), and it throws when there is none to enable. The native fill also
 * refuses while no source is on. On Linux the kernel's RNG is always on; the
 * simulator host models the device's (hardware/random/linux/random.c).
 */

/** What makes the bytes true random now; "none" when nothing does. */
export type Source = "radio" | "entropy" | "kernel" | "none";

function fillNative(this: unknown, buffer: ArrayBuffer | Uint8Array): void {
	return native("xs_random_fill").call(this, buffer);
}
function sourceNative(this: unknown): Source {
	return native("xs_random_source").call(this);
}
function entropyNative(this: unknown, on: boolean): boolean {
	return native("xs_random_entropy").call(this, on);
}

/** The true random source that is on now, or "none". */
export function source(): Source {
	return sourceNative();
}

/**
 * Runs `use` (synchronously) with a true random source on: as it is, if one
 * is on; otherwise with the internal entropy source enabled for the call and
 * disabled after it, whatever `use` does. Throws, without calling `use`, if
 * no source can be turned on. For native code that draws from the RNG
 * itself (key generation and signing in hardware/csr).
 */
export function withTrueRandom<T>(use: () => T): T {
	if (sourceNative() !== "none")
		return use();
	if (!entropyNative(true))
		throw new Error("random: no true random source: the radio is off and the entropy source cannot be enabled");
	try {
		return use();
	}
	finally {
		entropyNative(false);
	}
}

/** Fills `buffer` in place and returns it. */
export function fill<T extends ArrayBuffer | Uint8Array>(buffer: T): T {
	if (!(buffer instanceof ArrayBuffer) && !(buffer instanceof Uint8Array))
		throw new TypeError("random: fill() takes an ArrayBuffer or a Uint8Array");
	withTrueRandom(() => fillNative(buffer));
	return buffer;
}

/** `count` fresh random bytes. */
export function bytes(count: number): Uint8Array {
	if (!Number.isInteger(count) || (count < 0) || (count > 65536))
		throw new RangeError(`random: cannot make ${count} bytes`);
	const result = new Uint8Array(count);
	withTrueRandom(() => fillNative(result));
	return result;
}

/** A uniformly distributed integer in [0, bound), without modulo bias. */
export function below(bound: number): number {
	if (!Number.isInteger(bound) || (bound < 1) || (bound > 0x100000000))
		throw new RangeError(`random: invalid bound ${bound}`);
	const word = new Uint8Array(4);
	const view = new DataView(word.buffer);
	const limit = 0x100000000 - (0x100000000 % bound);
	return withTrueRandom(() => {
		for (;;) {
			fillNative(word);
			const value = view.getUint32(0);
			if (value < limit)
				return value % bound;
		}
	});
}
