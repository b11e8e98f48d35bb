/* Byte helpers for the browser (no Buffer there). */

export const encoder = new TextEncoder();

export function hex(bytes: Uint8Array): string {
	let out = "";
	for (const byte of bytes)
		out += byte.toString(16).padStart(2, "0");
	return out;
}

export function fromHex(text: string): Uint8Array {
	if (!/^([0-9a-f]{2})*$/.test(text))
		throw new RangeError("not lower-case hex");
	const out = new Uint8Array(text.length / 2);
	for (let i = 0; i < out.length; i++)
		out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
	return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
	const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
	let at = 0;
	for (const part of parts) {
		out.set(part, at);
		at += part.length;
	}
	return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length)
		return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++)
		diff |= a[i] ^ b[i];
	return diff === 0;
}

/** A copy in its own ArrayBuffer: what WebCrypto's BufferSource wants. */
export function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
	return new Uint8Array(bytes);
}

export async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
	return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
}

export const isHex = (value: unknown, bytes: number): value is string => (typeof value === "string") && new RegExp(`^[0-9a-f]{${2 * bytes}}$`).test(value);

/** WebCrypto's CryptoKey and key pair, named from `crypto.subtle` so that Node's type-check of these modules (the unit tests) knows them too. */
export type Key = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
export interface KeyPair {
	privateKey: Key;
	publicKey: Key;
}
