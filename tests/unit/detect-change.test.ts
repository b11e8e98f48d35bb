/*
 * detect/change: the detect stage's test of whether a frame shows anything
 * new. Noise and a change of light are not news; someone stepping in is.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { changedCells, differs, gridHeight, gridWidth, lumaSignature } from "detect/change";

const width = 40, height = 30;

function picture(paint: (x: number, y: number) => number): { width: number; height: number; data: Uint8Array } {
	const data = new Uint8Array(width * height * 3);
	for (let y = 0; y < height; y++)
		for (let x = 0; x < width; x++)
			data.fill(paint(x, y), ((y * width) + x) * 3, ((y * width) + x + 1) * 3);
	return { width, height, data };
}

const wall = (x: number, y: number) => 90 + ((x * 7 + y * 13) % 40);

test("a signature has one mean luma per cell", () => {
	const signature = lumaSignature(picture(() => 128));
	assert.equal(signature.length, gridWidth * gridHeight);
	assert.ok(signature.every((value) => Math.abs(value - 128) < 1));
});

test("the same scene with noise, or a little darker, does not differ", () => {
	const a = lumaSignature(picture(wall));
	const noisy = lumaSignature(picture((x, y) => wall(x, y) + (((x * 31 + y * 17) % 5) - 2)));
	const darker = lumaSignature(picture((x, y) => wall(x, y) - 6));
	assert.equal(differs(a, noisy), false, `noise: ${changedCells(a, noisy)}`);
	assert.equal(differs(a, darker), false, `light: ${changedCells(a, darker)}`);
});

test("a figure stepping into view differs", () => {
	const a = lumaSignature(picture(wall));
	// 4 x 8 pixels of the 40 x 30 picture: a 32 x 64 px figure in a 320 x 240 frame.
	const b = lumaSignature(picture((x, y) => ((x >= 10) && (x < 14) && (y >= 10) && (y < 18)) ? 230 : wall(x, y)));
	assert.equal(differs(a, b), true, `figure: ${changedCells(a, b)}`);
});

test("bad input is a RangeError", () => {
	assert.throws(() => lumaSignature({ width: 4, height: 4, data: new Uint8Array(3) }), RangeError);
	assert.throws(() => changedCells(new Float32Array(2), new Float32Array(3)), RangeError);
});
