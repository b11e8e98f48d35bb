/*
 * Privacy zones: polygons, in coordinates normalized to the frame (0..1, so a
 * zone survives a change of sensor resolution), whose pixels are blanked
 * before anything looks at the frame. The signed event carries the SHA-256 of
 * encodeZones(), so a viewer can tell which zones were in force.
 */
import type { Pixels } from "./input";

export interface PrivacyZone {
	points: [number, number][];
}

export const maxZones = 8;
export const minZonePoints = 3;
export const maxZonePoints = 32;

/** A checked copy of `value`, or a RangeError naming the first bad field. */
export function validateZones(value: unknown): PrivacyZone[] {
	if (!Array.isArray(value))
		throw new RangeError("zones: must be an array");
	if (value.length > maxZones)
		throw new RangeError(`zones: at most ${maxZones} zones, not ${value.length}`);
	return value.map((zone: unknown, z): PrivacyZone => {
		const points = (zone !== null && typeof zone === "object") ? (zone as { points?: unknown }).points : undefined;
		if (!Array.isArray(points))
			throw new RangeError(`zones[${z}].points: must be an array`);
		if (points.length < minZonePoints || points.length > maxZonePoints)
			throw new RangeError(`zones[${z}].points: ${minZonePoints} to ${maxZonePoints} points, not ${points.length}`);
		return {
			points: points.map((point: unknown, p): [number, number] => {
				if (!Array.isArray(point) || point.length !== 2)
					throw new RangeError(`zones[${z}].points[${p}]: must be [x, y]`);
				for (let axis = 0; axis < 2; axis++) {
					const v: unknown = point[axis];
					if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 1)
						throw new RangeError(`zones[${z}].points[${p}][${axis}]: must be a number from 0 to 1`);
				}
				return [point[0], point[1]];
			}),
		};
	});
}

/**
 * Blanks, in place, every pixel whose centre lies inside a zone (even-odd
 * rule within a zone; zones add up). One scanline per pixel row: the zone's
 * edges crossing the row's centre line, sorted, bound the spans to fill, so
 * the cost is the edges per row plus the pixels filled, not pixels x edges.
 * A centre exactly on a left edge is inside, on a right edge outside, so two
 * zones that share an edge leave no gap and no double cover.
 */
export function maskZones(pixels: Pixels, zones: readonly PrivacyZone[]): void {
	const { width, height, data } = pixels;
	const crossings = new Float64Array(maxZonePoints);
	for (const { points } of zones) {
		const count = points.length;
		let minY = Infinity, maxY = -Infinity;
		for (const [, y] of points) {
			minY = Math.min(minY, y * height);
			maxY = Math.max(maxY, y * height);
		}
		const firstRow = Math.max(0, Math.ceil(minY - 0.5)), lastRow = Math.min(height - 1, Math.floor(maxY - 0.5));
		for (let row = firstRow; row <= lastRow; row++) {
			const lineY = row + 0.5;
			let found = 0;
			for (let i = 0, j = count - 1; i < count; j = i++) {
				const y0 = points[j][1] * height, y1 = points[i][1] * height;
				// Half-open in y: a vertex on the line counts for exactly one of its edges.
				if ((y0 <= lineY) === (y1 <= lineY))
					continue;
				const x0 = points[j][0] * width, x1 = points[i][0] * width;
				const x = x0 + (lineY - y0) * (x1 - x0) / (y1 - y0);
				// Insertion sort: a handful of crossings per row.
				let k = found++;
				for (; k > 0 && crossings[k - 1] > x; k--)
					crossings[k] = crossings[k - 1];
				crossings[k] = x;
			}
			for (let k = 0; k + 1 < found; k += 2) {
				// Pixel columns whose centre c + 0.5 is in [left, right).
				const from = Math.max(0, Math.ceil(crossings[k] - 0.5));
				const to = Math.min(width, Math.ceil(crossings[k + 1] - 0.5));
				if (to > from)
					data.fill(0, (row * width + from) * 3, (row * width + to) * 3);
			}
		}
	}
}

function quantize(value: number): number {
	return Math.round(value * 65535);
}

/**
 * The zones' canonical bytes: "DWZ1", a u8 zone count, then per zone a u8
 * point count and per point x, y as u16 big-endian round(v * 65535).
 */
export function encodeZones(zones: readonly PrivacyZone[]): Uint8Array {
	// Checked again: the counts must fit their byte and the values their u16.
	zones = validateZones(zones);
	let length = 5;
	for (const zone of zones)
		length += 1 + 4 * zone.points.length;
	const bytes = new Uint8Array(length);
	bytes.set([0x44, 0x57, 0x5A, 0x31, zones.length]);
	let at = 5;
	for (const { points } of zones) {
		bytes[at++] = points.length;
		for (const [x, y] of points) {
			const qx = quantize(x), qy = quantize(y);
			bytes[at++] = qx >> 8;
			bytes[at++] = qx & 255;
			bytes[at++] = qy >> 8;
			bytes[at++] = qy & 255;
		}
	}
	return bytes;
}
