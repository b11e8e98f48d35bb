/*
 * Random bytes from the hardware RNG: esp_fill_random on the device,
 * getrandom(2) on Linux (Moddable's lin simulator and the simulator host).
 * Every key, nonce and identifier in Doorward comes from here, never from
 * Math.random or Moddable's `rng` (an RC4 keystream).
 */

function fillNative(this: unknown, buffer: ArrayBuffer | Uint8Array): void {
	return native("xs_random_fill").call(this, buffer);
}

/** Fills `buffer` in place and returns it. */
export function fill<T extends ArrayBuffer | Uint8Array>(buffer: T): T {
	if (!(buffer instanceof ArrayBuffer) && !(buffer instanceof Uint8Array))
		throw new TypeError("random: fill() takes an ArrayBuffer or a Uint8Array");
	fillNative(buffer);
	return buffer;
}

/** `count` fresh random bytes. */
export function bytes(count: number): Uint8Array {
	if (!Number.isInteger(count) || (count < 0) || (count > 65536))
		throw new RangeError(`random: cannot make ${count} bytes`);
	const result = new Uint8Array(count);
	fillNative(result);
	return result;
}

/** A uniformly distributed integer in [0, bound), without modulo bias. */
export function below(bound: number): number {
	if (!Number.isInteger(bound) || (bound < 1) || (bound > 0x100000000))
		throw new RangeError(`random: invalid bound ${bound}`);
	const word = new Uint8Array(4);
	const view = new DataView(word.buffer);
	const limit = 0x100000000 - (0x100000000 % bound);
	for (;;) {
		fillNative(word);
		const value = view.getUint32(0);
		if (value < limit)
			return value % bound;
	}
}
