import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeZones, maskZones, validateZones } from "detect/zones";
import type { PrivacyZone } from "detect/zones";

function grey(width: number, height: number) {
	return { width, height, data: new Uint8Array(width * height * 3).fill(200) };
}

/** The mask as rows of "#" (blanked) and "." (untouched). */
function picture(pixels: { width: number; height: number; data: Uint8Array }): string[] {
	const rows: string[] = [];
	for (let y = 0; y < pixels.height; y++) {
		let row = "";
		for (let x = 0; x < pixels.width; x++) {
			const at = (y * pixels.width + x) * 3;
			const rgb = [pixels.data[at], pixels.data[at + 1], pixels.data[at + 2]];
			assert.ok(rgb.every((v) => v === 0) || rgb.every((v) => v === 200), `pixel ${x},${y} is either blank or untouched`);
			row += rgb[0] === 0 ? "#" : ".";
		}
		rows.push(row);
	}
	return rows;
}

test("a square zone blanks exactly the pixels whose centres it contains", () => {
	const pixels = grey(8, 8);
	maskZones(pixels, [{ points: [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]] }]);
	assert.deepEqual(picture(pixels), [
		"........",
		"........",
		"..####..",
		"..####..",
		"..####..",
		"..####..",
		"........",
		"........",
	]);
});

test("a triangle: centres on the slanted edge x + y = 4 stay, left and top edges are inside", () => {
	const pixels = grey(4, 4);
	maskZones(pixels, [{ points: [[0, 0], [1, 0], [0, 1]] }]);
	assert.deepEqual(picture(pixels), [
		"###.",
		"##..",
		"#...",
		"....",
	]);
});

test("zones add up, and a non-square frame scales x and y separately", () => {
	const pixels = grey(6, 3);
	maskZones(pixels, [
		{ points: [[0, 0], [0.5, 0], [0.5, 1 / 3], [0, 1 / 3]] },
		{ points: [[0.5, 2 / 3], [1, 2 / 3], [1, 1], [0.5, 1]] },
	]);
	assert.deepEqual(picture(pixels), [
		"###...",
		"......",
		"...###",
	]);
});

/** Even-odd by casting a ray to the left from each pixel centre: one pixel at a time, independently of maskZones. */
function reference(width: number, height: number, zone: PrivacyZone): string[] {
	const rows: string[] = [];
	for (let y = 0; y < height; y++) {
		let row = "";
		for (let x = 0; x < width; x++) {
			const px = x + 0.5, py = y + 0.5;
			let inside = false;
			const points = zone.points.map(([u, v]) => [u * width, v * height]);
			for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
				const [x0, y0] = points[j], [x1, y1] = points[i];
				if ((y0 <= py) !== (y1 <= py) && x0 + (py - y0) * (x1 - x0) / (y1 - y0) <= px)
					inside = !inside;
			}
			row += inside ? "#" : ".";
		}
		rows.push(row);
	}
	return rows;
}

test("a self-overlapping pentagram follows the even-odd rule: its centre, covered twice, stays", () => {
	const points: [number, number][] = [];
	for (let k = 0; k < 5; k++) {
		const angle = (-90 + 144 * k) * Math.PI / 180;
		points.push([0.5 + 0.45 * Math.cos(angle), 0.5 + 0.45 * Math.sin(angle)]);
	}
	const zone = { points };
	const pixels = grey(40, 40);
	maskZones(pixels, [zone]);
	const mask = picture(pixels);
	assert.deepEqual(mask, reference(40, 40, zone));
	assert.equal(mask[20][20], ".", "the centre is outside");
	assert.equal(mask[19][19], ".", "the centre is outside");
	assert.equal(mask[7][19], "#", "the top arm is inside");
	assert.equal(mask[0][20], ".", "above the top tip");
	assert.ok(mask.join("").split("#").length - 1 > 100, "the arms are blanked");
});

test("validateZones names the field at fault", () => {
	const square = { points: [[0, 0], [1, 0], [1, 1], [0, 1]] };
	assert.deepEqual(validateZones([square]), [square]);
	assert.deepEqual(validateZones([]), []);
	assert.throws(() => validateZones({}), /^RangeError: zones: must be an array/);
	assert.throws(() => validateZones(Array(9).fill(square)), /at most 8 zones, not 9/);
	assert.throws(() => validateZones([square, { points: [[0, 0], [1, 1]] }]), /zones\[1\]\.points: 3 to 32 points, not 2/);
	assert.throws(() => validateZones([{ points: Array(33).fill([0, 0]) }]), /zones\[0\]\.points: 3 to 32 points, not 33/);
	assert.throws(() => validateZones([null]), /zones\[0\]\.points: must be an array/);
	assert.throws(() => validateZones([{ points: [[0, 0], [0.5], [1, 1]] }]), /zones\[0\]\.points\[1\]: must be \[x, y\]/);
	assert.throws(() => validateZones([{ points: [[0, 0], [1.5, 0], [1, 1]] }]), /zones\[0\]\.points\[1\]\[0\]: must be a number from 0 to 1/);
	assert.throws(() => validateZones([{ points: [[0, 0], [1, NaN], [1, 1]] }]), /zones\[0\]\.points\[1\]\[1\]/);
	assert.throws(() => validateZones([{ points: [[0, 0], [1, "0"], [1, 1]] }]), /zones\[0\]\.points\[1\]\[1\]/);
	assert.throws(() => validateZones([{ points: [[0, -0.1], [1, 0], [1, 1]] }]), RangeError);
});

test("encodeZones: the canonical bytes of a worked example", () => {
	const bytes = encodeZones([
		{ points: [[0, 0], [1, 0], [0.5, 1]] },
		{ points: [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]] },
	]);
	assert.equal(Buffer.from(bytes).toString("hex"),
		"44575a31" + "02" +
		// 0.5 * 65535 = 32767.5, rounded up to 0x8000.
		"03" + "00000000" + "ffff0000" + "8000ffff" +
		// 0.25 -> 16383.75 -> 0x4000; 0.75 -> 49151.25 -> 0xbfff.
		"04" + "40004000" + "bfff4000" + "bfffbfff" + "4000bfff");
	assert.equal(Buffer.from(encodeZones([])).toString("hex"), "44575a3100");
	assert.throws(() => encodeZones([{ points: [[0, 0], [2, 0], [1, 1]] }]), RangeError);
});
