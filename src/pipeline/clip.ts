/*
 * A clip: what the camera saw for one event, as one byte string. This is the
 * plaintext that the encryption stage seals; nothing in it may leave the
 * device unsealed once that stage is in place.
 *
 *   "DWC1" | record* 
 *   record = u8 type | u32 length (big-endian) | length bytes
 *   type 1 = metadata, UTF-8 JSON (exactly one, first)
 *   type 3 = the face thumbnail: u32 JPEG length | JPEG | zeros (right after
 *            the metadata; in every event with pictures, face or not)
 *   type 2 = one JPEG frame, in capture order
 *   type 0 = padding, all zero bytes (at most one, last)
 */
import { concat, utf8Decode, utf8Encode } from "util/bytes";
import type { FaceReport } from "./detection";

export const clipMagic = Uint8Array.of(0x44, 0x57, 0x43, 0x31); // "DWC1"

export const RecordType = Object.freeze({ Padding: 0, Metadata: 1, Frame: 2, Thumbnail: 3 } as const);

export interface ClipMetadata {
	readonly width: number;
	readonly height: number;
	readonly format: "jpeg";
	readonly frameCount: number;
	/** What started the event. Inside the clip, so only the phones learn it. */
	readonly kind?: "ring" | "motion" | "face" | "update" | "audit";
	/** For events without pictures (an update's outcome, an audit entry): what happened. */
	readonly details?: Readonly<Record<string, string | number | boolean>>;
	/** Wall-clock ms of the first frame's capture request. */
	readonly startedAt: number;
	/** Why fewer frames than asked for, if so. */
	readonly cameraError?: string;
	/** What the detect stage found (absent on events without pictures). */
	readonly faces?: FaceReport;
}

/**
 * Events with pictures (those with a face report) have records of fixed
 * size where what they hold depends on faces: the thumbnail record always,
 * empty when no face was found, and the metadata padded with JSON
 * whitespace. Otherwise a face would show in the ciphertext's length.
 */
export const thumbnailRecordBytes = 8192;
export const thumbnailJpegLimit = thumbnailRecordBytes - 4;
export const metadataRecordBytes = 4096;

export interface Clip {
	readonly metadata: ClipMetadata;
	/** The best face, cropped: what a notification shows. */
	readonly thumbnail?: Uint8Array;
	readonly frames: readonly Uint8Array[];
}

function record(type: number, body: Uint8Array): Uint8Array[] {
	const header = new Uint8Array(5);
	header[0] = type;
	new DataView(header.buffer).setUint32(1, body.length);
	return [header, body];
}

/**
 * The clip as a list of parts that reference the frames rather than copy
 * them: on the device the XS heap is a fixed 2 MiB that the queued events
 * share, so a burst is copied once, at capture, and streamed, never joined.
 */
export function encodeClipParts(clip: Clip): Uint8Array[] {
	if (clip.metadata.frameCount !== clip.frames.length)
		throw new RangeError("clip: frameCount does not match the frames");
	const parts: Uint8Array[] = [clipMagic];
	const json = utf8Encode(JSON.stringify(clip.metadata));
	if (!clip.metadata.faces) {
		if (clip.thumbnail)
			throw new RangeError("clip: a thumbnail needs a face report");
		parts.push(...record(RecordType.Metadata, json));
	}
	else {
		if (json.length > metadataRecordBytes)
			throw new RangeError(`clip: metadata of ${json.length} bytes does not fit its ${metadataRecordBytes}-byte record (fitMetadata first)`);
		const metadata = new Uint8Array(metadataRecordBytes).fill(0x20);
		metadata.set(json);
		parts.push(...record(RecordType.Metadata, metadata));
		const thumbnail = clip.thumbnail ?? new Uint8Array(0);
		if (thumbnail.length > thumbnailJpegLimit)
			throw new RangeError(`clip: a thumbnail of ${thumbnail.length} bytes does not fit its record`);
		const body = new Uint8Array(thumbnailRecordBytes);
		new DataView(body.buffer).setUint32(0, thumbnail.length);
		body.set(thumbnail, 4);
		parts.push(...record(RecordType.Thumbnail, body));
	}
	for (const frame of clip.frames)
		parts.push(...record(RecordType.Frame, frame));
	return parts;
}

/**
 * The metadata of an event with pictures, made to fit its fixed record:
 * the lowest-scoring faces are left out (and counted) until it does. The
 * report's other fields are short by construction; its reason is cut.
 */
export function fitMetadata(metadata: ClipMetadata): ClipMetadata {
	const report = metadata.faces;
	if (!report)
		return metadata;
	const reason = (report.reason && (report.reason.length > 600)) ? `${report.reason.slice(0, 597)}...` : report.reason;
	const faces = [...report.faces].sort((a, b) => b.score - a.score);
	for (;;) {
		const omitted = report.faces.length - faces.length;
		const fitted: ClipMetadata = {
			...metadata,
			faces: { ...report, ...(reason !== undefined ? { reason } : {}), faces, ...(omitted ? { facesOmitted: omitted } : {}) },
		};
		if ((utf8Encode(JSON.stringify(fitted)).length <= metadataRecordBytes) || !faces.length)
			return fitted;
		faces.pop();
	}
}

/** The smallest clip size at or above `length` that padding rounds to. */
export const minimumPaddedLength = 4096;

/**
 * Padmé (Nikitin et al., PETS 2019): rounds a length up so that only
 * O(log log length) bits of it show, at most 12% larger; never below 4 KiB.
 */
export function paddedLength(length: number): number {
	if (length <= minimumPaddedLength)
		return minimumPaddedLength;
	const exponent = Math.floor(Math.log2(length));
	const bits = Math.floor(Math.log2(exponent)) + 1;
	const mask = 2 ** (exponent - bits) - 1;
	return Math.ceil(length / (mask + 1)) * (mask + 1);
}

/** The padding record that brings a clip of `length` bytes to its padded length. */
export function paddingRecord(length: number): Uint8Array {
	const target = paddedLength(length + 5);
	const record = new Uint8Array(target - length);
	new DataView(record.buffer).setUint32(1, record.length - 5);
	return record;
}

export function encodeClip(clip: Clip): Uint8Array {
	return concat(encodeClipParts(clip));
}

/** Parses a clip; throws RangeError on anything malformed. The frames are views into `bytes`. */
export function decodeClip(bytes: Uint8Array): Clip {
	if ((bytes.length < 4) || bytes[0] !== clipMagic[0] || bytes[1] !== clipMagic[1] || bytes[2] !== clipMagic[2] || bytes[3] !== clipMagic[3])
		throw new RangeError("clip: not a DWC1 clip");
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	let metadata: ClipMetadata | undefined;
	let thumbnail: Uint8Array | undefined;
	let thumbnailSeen = false;
	const frames: Uint8Array[] = [];
	let padded = false;
	for (let offset = 4; offset < bytes.length;) {
		if (padded)
			throw new RangeError("clip: padding must be the last record");
		if (offset + 5 > bytes.length)
			throw new RangeError("clip: truncated record header");
		const type = bytes[offset];
		const length = view.getUint32(offset + 1);
		if (offset + 5 + length > bytes.length)
			throw new RangeError("clip: truncated record");
		const body = bytes.subarray(offset + 5, offset + 5 + length);
		if (type === RecordType.Metadata) {
			if (metadata || frames.length)
				throw new RangeError("clip: metadata must come once, first");
			metadata = JSON.parse(utf8Decode(body));
		}
		else if (type === RecordType.Padding) {
			if (body.some((byte) => byte !== 0))
				throw new RangeError("clip: padding is not zero");
			padded = true;
		}
		else if (type === RecordType.Thumbnail) {
			if (!metadata || thumbnailSeen || frames.length)
				throw new RangeError("clip: a thumbnail must come once, right after the metadata");
			thumbnailSeen = true;
			const jpegLength = (body.length >= 4) ? new DataView(body.buffer, body.byteOffset, 4).getUint32(0) : -1;
			if ((jpegLength < 0) || (jpegLength > body.length - 4) || body.subarray(4 + jpegLength).some((byte) => byte !== 0))
				throw new RangeError("clip: malformed thumbnail record");
			if (jpegLength)
				thumbnail = body.subarray(4, 4 + jpegLength);
		}
		else if (type === RecordType.Frame) {
			if (!metadata)
				throw new RangeError("clip: frame before metadata");
			frames.push(body);
		}
		else
			throw new RangeError(`clip: unknown record type ${type}`);
		offset += 5 + length;
	}
	if (!metadata || (metadata.frameCount !== frames.length))
		throw new RangeError("clip: metadata missing or frame count wrong");
	return { metadata, frames, ...(thumbnail ? { thumbnail } : {}) };
}
