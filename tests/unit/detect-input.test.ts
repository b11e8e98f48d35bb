import { test } from "node:test";
import assert from "node:assert/strict";
import { Letterbox, decodeScale, prepareInput, pixelsFromRgb565 } from "detect/input";

const float = (height: number, width: number) => ({ shape: [1, height, width, 3], type: "float32" as const, scale: 1, zeroPoint: 0 });
const normalized = (p: number) => p / 127.5 - 1;

function image(width: number, height: number, value: (x: number, y: number, channel: number) => number) {
	const data = new Uint8Array(width * height * 3);
	for (let y = 0; y < height; y++)
		for (let x = 0; x < width; x++)
			for (let c = 0; c < 3; c++)
				data[(y * width + x) * 3 + c] = value(x, y, c);
	return { width, height, data };
}

function close(actual: number, expected: number, what: string) {
	assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: expected ${expected}, got ${actual}`);
}

test("a 640x480 frame in a 128x128 input: 5 frame pixels per model pixel, 80 rows of padding above and below", () => {
	const box = new Letterbox(640, 480, 128, 128);
	assert.equal(box.step, 5);
	assert.equal(box.regionX, 0);
	assert.equal(box.regionY, -80);
	assert.equal(box.toModelY(0), 0.125);
	assert.equal(box.toModelY(480), 0.875);
	assert.equal(box.toFrameX(0.5), 320);
	assert.equal(box.toFrameY(0.5), 240);
	assert.equal(box.toFrameWidth(0.25), 160);
	for (const [x, y] of [[0, 0], [639.5, 479.5], [123.25, 77]]) {
		close(box.toFrameX(box.toModelX(x)), x, "x round trip");
		close(box.toFrameY(box.toModelY(y)), y, "y round trip");
	}
	const portrait = new Letterbox(480, 640, 192, 192);
	assert.equal(portrait.regionX, -80);
	assert.equal(portrait.regionY, 0);
	assert.equal(portrait.toModelX(240), 0.5);
});

test("a part of the frame (the detector's close-up) fills the input; beyond the frame is padding", () => {
	const box = new Letterbox(640, 480, 128, 128, { x: 100, y: 50, width: 256, height: 256 });
	assert.equal(box.step, 2);
	assert.equal(box.toFrameX(0), 100);
	assert.equal(box.toFrameY(1), 306);
	assert.equal(box.toModelX(228), 0.5);
	// A part hanging over the top-left corner: the model's first rows and columns are padding.
	const gradient = image(8, 8, (x) => x * 30);
	const { data } = prepareInput(gradient, float(4, 4), undefined, { x: -2, y: -2, width: 4, height: 4 });
	assert.equal(data[0], -1, "outside the frame");
	close(data[(2 * 4 + 2) * 3], normalized(0), "frame pixel (0, 0)");
	close(data[(3 * 4 + 3) * 3], normalized(30), "frame pixel (1, 1)");
	assert.throws(() => new Letterbox(10, 10, 4, 4, { x: 0, y: 0, width: 0, height: 4 }), /positive size/);
});

test("the padding is black (-1) and the frame keeps its aspect ratio", () => {
	const white = image(4, 2, () => 255);
	const { data, letterbox } = prepareInput(white, float(4, 4));
	assert.equal(letterbox.regionY, -1);
	for (let row = 0; row < 4; row++)
		for (let i = 0; i < 12; i++)
			assert.equal(data[row * 12 + i], (row === 0 || row === 3) ? -1 : 1, `row ${row} element ${i}`);
});

test("upscaling samples bilinearly between pixel centres, clamped at the edges", () => {
	// Red 0 then 200 across; green 10 on the top row, 90 on the bottom one.
	const frame = image(2, 2, (x, y, c) => c === 0 ? x * 200 : c === 1 ? 10 + 80 * y : 7);
	const { data } = prepareInput(frame, float(4, 4));
	const expectedRed = [0, 50, 150, 200];
	const expectedGreen = [10, 30, 70, 90];
	for (let row = 0; row < 4; row++) {
		for (let column = 0; column < 4; column++) {
			const at = (row * 4 + column) * 3;
			close(data[at], normalized(expectedRed[column]), `red at ${column},${row}`);
			close(data[at + 1], normalized(expectedGreen[row]), `green at ${column},${row}`);
			close(data[at + 2], normalized(7), `blue at ${column},${row}`);
		}
	}
});

test("shrinking by more than 2x averages each model pixel's footprint", () => {
	const frame = image(8, 8, (x, y, c) => c === 0 ? x + 8 * y : c === 1 ? 255 : 0);
	const { data } = prepareInput(frame, float(2, 2));
	// Mean of x + 8y over a 4x4 block: 1.5 + 8 * 1.5 = 13.5, plus 4 per block across, 32 per block down.
	const expected = [13.5, 17.5, 45.5, 49.5];
	for (let i = 0; i < 4; i++) {
		close(data[i * 3], normalized(expected[i]), `red ${i}`);
		close(data[i * 3 + 1], 1, `green ${i}`);
		close(data[i * 3 + 2], -1, `blue ${i}`);
	}
});

test("an int8 input is quantized with the tensor's scale and zero point, rounding half away from zero", () => {
	const int8 = { shape: [1, 2, 4, 3], type: "int8" as const, scale: 1 / 64, zeroPoint: 3 };
	// A 4x2 frame in a 2x4 input: no padding, one model pixel per frame pixel.
	const values = [0, 255, 51, 100];
	const frame = image(4, 2, (x) => values[x]);
	const { data } = prepareInput(frame, int8);
	assert.ok(data instanceof Int8Array);
	// 0 -> -1 -> -64 + 3; 255 -> 1 -> 64 + 3; 51 -> -0.6 -> -38.4 -> -38 + 3; 100 -> -0.21569 -> -13.8 -> -14 + 3
	assert.deepEqual(Array.from(data.subarray(0, 12)), [-61, -61, -61, 67, 67, 67, -35, -35, -35, -11, -11, -11]);
	const saturating = { shape: [1, 1, 1, 3], type: "int8" as const, scale: 1 / 128, zeroPoint: 0 };
	assert.deepEqual(Array.from(prepareInput(image(1, 1, (_x, _y, c) => [0, 255, 128][c]), saturating).data), [-128, 127, 1]);
	// Padding of a quantized input is the quantized -1.
	const padded = prepareInput(image(2, 1, () => 255), { ...int8, shape: [1, 2, 2, 3] });
	assert.deepEqual(Array.from(padded.data), [67, 67, 67, 67, 67, 67, -61, -61, -61, -61, -61, -61]);
});

test("prepareInput refuses a wrong tensor shape, a wrong output buffer and short pixel data", () => {
	const frame = image(2, 2, () => 0);
	assert.throws(() => prepareInput(frame, { shape: [1, 4, 4, 1], type: "float32", scale: 1, zeroPoint: 0 }), /\[1, height, width, 3\]/);
	assert.throws(() => prepareInput(frame, float(4, 4), new Float32Array(10)), /Float32Array of 48/);
	assert.throws(() => prepareInput({ width: 2, height: 2, data: new Uint8Array(11) }, float(4, 4)), /RGB888/);
	const reused = new Float32Array(48);
	assert.equal(prepareInput(frame, float(4, 4), reused).data, reused);
});

test("RGB565 expands to RGB888 in either byte order", () => {
	const words = [0xF800, 0x07E0, 0x001F, 0x8410, 0xFFFF, 0x0000];
	const expected = [255, 0, 0, 0, 255, 0, 0, 0, 255, 132, 130, 132, 255, 255, 255, 0, 0, 0];
	const big = new Uint8Array(words.flatMap((w) => [w >> 8, w & 255]));
	const little = new Uint8Array(words.flatMap((w) => [w & 255, w >> 8]));
	assert.deepEqual(Array.from(pixelsFromRgb565(big, 3, 2, true).data), expected);
	assert.deepEqual(Array.from(pixelsFromRgb565(little.buffer, 3, 2, false).data), expected);
	assert.equal(pixelsFromRgb565(big, 3, 2, true).width, 3);
	assert.throws(() => pixelsFromRgb565(big, 4, 2, true), /needs 16 bytes/);
});

test("the JPEG decode scale keeps the long side at or above the model input, and less than twice it", () => {
	const short = { width: 128, height: 128 }, full = { width: 192, height: 192 };
	assert.equal(decodeScale({ width: 640, height: 480 }, short), 4); // 160x120
	assert.equal(decodeScale({ width: 640, height: 480 }, full), 2); // 320x240
	assert.equal(decodeScale({ width: 1600, height: 1200 }, short), 8); // 200x150
	assert.equal(decodeScale({ width: 480, height: 640 }, full), 2); // portrait: 240x320
	assert.equal(decodeScale({ width: 1023, height: 200 }, short), 8); // the decoder rounds up: ceil(1023 / 8) = 128
	assert.equal(decodeScale({ width: 100, height: 80 }, short), 1);
});
