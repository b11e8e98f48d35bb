/*
 * A ring's notification: what the owner's phone shows at once, before the
 * clip. One snapshot in a record of fixed size (clip.ts), so the sealed
 * notification has the same length whatever the camera saw, or whether it
 * saw anything: the broker learns "a ring" and nothing more.
 */
import { decodeJpeg, encodeJpeg } from "hardware/image";
import { snapshotJpegLimit } from "./clip";
import type { ClipMetadata } from "./clip";
import type { Snapshot } from "./capture";

/** Qualities to try, best first, when a frame is too big for the snapshot record. */
const qualities = Object.freeze([70, 50, 30]);

export interface FittedSnapshot {
	readonly snapshot?: Uint8Array;
	/** Its size, when re-encoding changed it. */
	readonly width?: number;
	readonly height?: number;
	readonly error?: string;
}

/**
 * The snapshot as it fits its record: the frame itself when it does;
 * otherwise re-encoded at lower qualities, then at half size; otherwise none,
 * and why.
 */
export function fitSnapshot(frame: Uint8Array): FittedSnapshot {
	if (frame.length <= snapshotJpegLimit)
		return { snapshot: frame };
	try {
		for (const scale of [1, 2] as const) {
			const pixels = decodeJpeg(frame, { scale });
			for (const quality of qualities) {
				const jpeg = new Uint8Array(encodeJpeg(pixels, quality));
				if (jpeg.length <= snapshotJpegLimit)
					return { snapshot: jpeg, width: pixels.width, height: pixels.height };
			}
		}
		return { error: `no snapshot: a frame of ${frame.length} bytes does not fit ${snapshotJpegLimit} bytes at any quality tried` };
	}
	catch (error) {
		return { error: `no snapshot: the frame could not be re-encoded smaller (${(error as Error).message})` };
	}
}

/** The notification's metadata and snapshot, for encodeClipParts. */
export function notificationClip(triggeredAt: number, captured: Snapshot): { metadata: ClipMetadata; snapshot?: Uint8Array } {
	const fitted: FittedSnapshot = captured.frame ? fitSnapshot(captured.frame) : { error: `no snapshot: ${captured.error ?? "no frame"}` };
	const metadata: ClipMetadata = {
		width: fitted.snapshot ? (fitted.width ?? captured.width) : 0,
		height: fitted.snapshot ? (fitted.height ?? captured.height) : 0,
		format: "jpeg",
		frameCount: 0,
		startedAt: captured.at ?? triggeredAt,
		kind: "ring",
		notification: true,
		triggeredAt,
		...((fitted.snapshot && (captured.at !== undefined)) ? { snapshotAt: captured.at } : {}),
		...(fitted.error ? { snapshotError: fitted.error.slice(0, 400) } : {}),
	};
	return { metadata, ...(fitted.snapshot ? { snapshot: fitted.snapshot } : {}) };
}
