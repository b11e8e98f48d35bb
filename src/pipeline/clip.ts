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
 *   type 4 = the notification's snapshot: u32 JPEG length | JPEG | zeros
 *            (right after the metadata; in a notification only)
 *   type 0 = padding, all zero bytes (at most one, last)
 */
import { concat, utf8Decode, utf8Encode } from "util/bytes";
import type { FaceReport } from "./detection";

export const clipMagic = Uint8Array.of(0x44, 0x57, 0x43, 0x31); // "DWC1"

export const RecordType = Object.freeze({ Padding: 0, Metadata: 1, Frame: 2, Thumbnail: 3, Snapshot: 4 } as const);

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
	/** What the detect stage found (absent on events without pictures and on notifications). */
	readonly faces?: FaceReport;
	/** Wall-clock ms at the trigger (the press, the PIR). */
	readonly triggeredAt?: number;
	/** Wall-clock ms of each frame's capture, in order (frameCount of them), when known. */
	readonly frameTimes?: readonly number[];
	/** True on a ring's notification: one snapshot, sent at once, before the clip. */
	readonly notification?: true;
	/** On a ring's clip: the event id of the notification it follows. */
	readonly follows?: string;
	/** On a notification: wall-clock ms of the snapshot's capture, when it has one. */
	readonly snapshotAt?: number;
	/** On a notification without a snapshot: why ("no snapshot"). */
	readonly snapshotError?: string;
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
/**
 * A notification's records: fixed, so that a notification's length is the
 * same whatever the frame shows. Sized so that the sealed notification, with
 * up to three phones, fits one 16 KiB TCP send window (lwIP's on the device,
 * the simulator's alike): it leaves in one write, without waiting for the
 * socket to drain. A photographic QVGA JPEG is 8 to 20 KB: a frame over
 * 14,332 bytes is re-encoded smaller, or left out (pipeline/notification.ts).
 */
export const notificationMetadataBytes = 1024;
export const snapshotRecordBytes = 14336;
export const snapshotJpegLimit = snapshotRecordBytes - 4;

export interface Clip {
	readonly metadata: ClipMetadata;
	/** The best face, cropped. */
	readonly thumbnail?: Uint8Array;
	/** A notification's snapshot (metadata.notification), if it has one. */
	readonly snapshot?: Uint8Array;
	readonly frames: readonly Uint8Array[];
}

function record(type: number, body: Uint8Array): Uint8Array[] {
	const header = new Uint8Array(5);
	header[0] = type;
	new DataView(header.buffer).setUint32(1, body.length);
	return [header, body];
}

/** A metadata record body of fixed size: the JSON, then spaces. */
function fixedMetadata(json: Uint8Array, size = metadataRecordBytes): Uint8Array {
	if (json.length > size)
		throw new RangeError(`clip: metadata of ${json.length} bytes does not fit its ${size}-byte record (fitMetadata first)`);
	const metadata = new Uint8Array(size).fill(0x20);
	metadata.set(json);
	return metadata;
}

/** A JPEG record body of fixed size: u32 length, the JPEG (possibly none), zeros. */
function fixedJpeg(jpeg: Uint8Array | undefined, size: number, what: string): Uint8Array {
	const bytes = jpeg ?? new Uint8Array(0);
	if (bytes.length > size - 4)
		throw new RangeError(`clip: a ${what} of ${bytes.length} bytes does not fit its record`);
	const body = new Uint8Array(size);
	new DataView(body.buffer).setUint32(0, bytes.length);
	body.set(bytes, 4);
	return body;
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
	if (clip.metadata.notification) {
		if (clip.metadata.faces || clip.thumbnail || clip.frames.length)
			throw new RangeError("clip: a notification has a snapshot, and no frames or face report");
		parts.push(...record(RecordType.Metadata, fixedMetadata(json, notificationMetadataBytes)));
		parts.push(...record(RecordType.Snapshot, fixedJpeg(clip.snapshot, snapshotRecordBytes, "snapshot")));
		return parts;
	}
	if (clip.snapshot)
		throw new RangeError("clip: a snapshot outside a notification");
	if (!clip.metadata.faces) {
		if (clip.thumbnail)
			throw new RangeError("clip: a thumbnail needs a face report");
		parts.push(...record(RecordType.Metadata, json));
	}
	else {
		parts.push(...record(RecordType.Metadata, fixedMetadata(json)));
		parts.push(...record(RecordType.Thumbnail, fixedJpeg(clip.thumbnail, thumbnailRecordBytes, "thumbnail")));
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
	let snapshot: Uint8Array | undefined;
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
		else if (type === RecordType.Snapshot) {
			if (!metadata || !metadata.notification || snapshot || frames.length)
				throw new RangeError("clip: a snapshot must come once, right after a notification's metadata");
			const jpegLength = (body.length >= 4) ? new DataView(body.buffer, body.byteOffset, 4).getUint32(0) : -1;
			if ((jpegLength < 0) || (jpegLength > body.length - 4) || body.subarray(4 + jpegLength).some((byte) => byte !== 0))
				throw new RangeError("clip: malformed snapshot record");
			snapshot = body.subarray(4, 4 + jpegLength);
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
	return { metadata, frames, ...(thumbnail ? { thumbnail } : {}), ...(snapshot?.length ? { snapshot } : {}) };
}
