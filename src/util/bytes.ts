/*
 * Byte helpers shared by the firmware and the tools. Pure logic: runs on XS
 * and on Node alike.
 */

const hexDigits = "0123456789abcdef";

export function toHex(bytes: Uint8Array): string {
	let result = "";
	for (let i = 0; i < bytes.length; i++)
		result += hexDigits[bytes[i] >> 4] + hexDigits[bytes[i] & 15];
	return result;
}

export function fromHex(text: string): Uint8Array {
	if ((text.length % 2) || !/^[0-9a-fA-F]*$/.test(text))
		throw new RangeError("bytes: not an even-length hex string");
	const result = new Uint8Array(text.length / 2);
	for (let i = 0; i < result.length; i++)
		result[i] = parseInt(text.substr(i * 2, 2), 16);
	return result;
}

/** UTF-8 without TextEncoder, which XS does not build in. */
export function utf8Encode(text: string): Uint8Array {
	const out: number[] = [];
	for (const character of text) {
		const code = character.codePointAt(0)!;
		if (code < 0x80)
			out.push(code);
		else if (code < 0x800)
			out.push(0xC0 | (code >> 6), 0x80 | (code & 63));
		else if (code < 0x10000)
			out.push(0xE0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
		else
			out.push(0xF0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
	}
	return Uint8Array.from(out);
}

/** Strict UTF-8 decoding: malformed input throws rather than becoming U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
	let result = "";
	for (let i = 0; i < bytes.length;) {
		const lead = bytes[i];
		let code: number;
		let extra: number;
		if (lead < 0x80) { code = lead; extra = 0; }
		else if ((lead & 0xE0) === 0xC0) { code = lead & 31; extra = 1; }
		else if ((lead & 0xF0) === 0xE0) { code = lead & 15; extra = 2; }
		else if ((lead & 0xF8) === 0xF0) { code = lead & 7; extra = 3; }
		else throw new RangeError("bytes: malformed UTF-8");
		if (i + extra >= bytes.length + (extra ? 0 : 1))
			throw new RangeError("bytes: truncated UTF-8");
		for (let k = 1; k <= extra; k++) {
			const next = bytes[i + k];
			if ((next & 0xC0) !== 0x80)
				throw new RangeError("bytes: malformed UTF-8");
			code = (code << 6) | (next & 63);
		}
		const minimum = [0, 0x80, 0x800, 0x10000][extra];
		if ((code < minimum) || (code > 0x10FFFF) || ((code >= 0xD800) && (code <= 0xDFFF)))
			throw new RangeError("bytes: malformed UTF-8");
		result += String.fromCodePoint(code);
		i += extra + 1;
	}
	return result;
}

export function totalLength(parts: readonly Uint8Array[]): number {
	let length = 0;
	for (const part of parts)
		length += part.length;
	return length;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
	const result = new Uint8Array(totalLength(parts));
	let offset = 0;
	for (const part of parts) {
		result.set(part, offset);
		offset += part.length;
	}
	return result;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length)
		return false;
	let difference = 0;
	for (let i = 0; i < a.length; i++)
		difference |= a[i] ^ b[i];
	return difference === 0;
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3), for detecting torn or stale flash records; not a MAC.
 * Chains: crc32(b, crc32(a)) is crc32(a || b).
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
	if (!crcTable) {
		crcTable = new Uint32Array(256);
		for (let n = 0; n < 256; n++) {
			let c = n;
			for (let k = 0; k < 8; k++)
				c = (c & 1) ? (0xEDB88320 ^ (c >>> 1)) : (c >>> 1);
			crcTable[n] = c >>> 0;
		}
	}
	let crc = (previous ^ 0xFFFFFFFF) >>> 0;
	for (let i = 0; i < bytes.length; i++)
		crc = crcTable[(crc ^ bytes[i]) & 0xFF] ^ (crc >>> 8);
	return (crc ^ 0xFFFFFFFF) >>> 0;
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function fromBase64(text: string): Uint8Array {
	const clean = text.replace(/[\r\n\t ]/g, "");
	if ((clean.length % 4) || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean))
		throw new RangeError("bytes: not base64");
	const padding = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
	const out = new Uint8Array((clean.length / 4) * 3 - padding);
	let o = 0;
	for (let i = 0; i < clean.length; i += 4) {
		const n = (base64Alphabet.indexOf(clean[i]) << 18) | (base64Alphabet.indexOf(clean[i + 1]) << 12)
			| ((base64Alphabet.indexOf(clean[i + 2]) & 63) << 6) | (base64Alphabet.indexOf(clean[i + 3]) & 63);
		for (const shift of [16, 8, 0]) {
			if (o < out.length)
				out[o++] = (n >> shift) & 255;
		}
	}
	return out;
}

export function toBase64(bytes: Uint8Array): string {
	let text = "";
	for (let i = 0; i < bytes.length; i += 3) {
		const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
		text += base64Alphabet[(n >> 18) & 63] + base64Alphabet[(n >> 12) & 63]
			+ ((i + 1 < bytes.length) ? base64Alphabet[(n >> 6) & 63] : "=") + ((i + 2 < bytes.length) ? base64Alphabet[n & 63] : "=");
	}
	return text;
}

export function toPem(label: string, der: Uint8Array): string {
	const lines = toBase64(der).match(/.{1,64}/g) ?? [];
	return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER bytes of every PEM block in `text` (certificates, keys), in order. */
export function pemBlocks(text: string): Uint8Array[] {
	const blocks: Uint8Array[] = [];
	const pattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
	for (let match = pattern.exec(text); match; match = pattern.exec(text))
		blocks.push(fromBase64(match[2]));
	if (!blocks.length)
		throw new RangeError("bytes: no PEM block");
	return blocks;
}
