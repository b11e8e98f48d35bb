/*
 * The detector's pure parts on XS: the same code the Node unit tests check in
 * detail (tests/unit/detect-*), run here to catch what differs between the two
 * engines, with worked values.
 */
import { test, equal, ok, bytesEqual, throws } from "tests/harness";
import { anchors, anchorStride } from "detect/anchors";
import { decodeDetections } from "detect/decode";
import { prepareInput, pixelsFromRgb565 } from "detect/input";
import { weightedNonMaxSuppression } from "detect/nms";
import { shortRange, fullRange } from "detect/variants";
import { encodeZones, maskZones, validateZones } from "detect/zones";

test("anchors: 896 and 2304, first and last centres", () => {
	const short = anchors(shortRange.anchors), full = anchors(fullRange.anchors);
	equal(short.length, 896 * anchorStride, "short-range values");
	equal(full.length, 2304 * anchorStride, "full-range values");
	equal(short[0], 0.03125, "first x");
	equal(short[895 * anchorStride + 1], 0.9375, "last y");
	equal(full[2303 * anchorStride], Math.fround(47.5 / 48), "full-range last x");
});

test("decode and weighted NMS merge two neighbouring anchors into one face", () => {
	const regressors = new Float32Array(896 * 16), logits = new Float32Array(896).fill(-20);
	// Anchors 0 and 1 share a centre; two boxes of 32 px, 4 px apart, scores sigmoid(2) and sigmoid(0).
	regressors.set([0, 0, 32, 32], 0);
	regressors.set([4, 0, 32, 32], 16);
	logits[0] = 2;
	logits[1] = 0;
	const detections = decodeDetections(regressors, logits, anchors(shortRange.anchors), shortRange.decode);
	equal(detections.length, 2, "candidates");
	const merged = weightedNonMaxSuppression(detections, 0.3);
	equal(merged.length, 1, "faces");
	const high = 1 / (1 + Math.exp(-2));
	const shift = (4 / 128) * 0.5 / (high + 0.5);
	ok(Math.abs(merged[0].box[0] - (0.03125 - 0.125 + shift)) < 1e-9, `merged x ${merged[0].box[0]}`);
	equal(merged[0].score, high, "score");
});

test("letterbox and int8 quantization of a 4x2 frame", () => {
	const frame = { width: 4, height: 2, data: new Uint8Array(24).fill(255) };
	const { data, letterbox } = prepareInput(frame, { shape: [1, 4, 4, 3], type: "int8", scale: 1 / 64, zeroPoint: 3 });
	equal(letterbox.regionY, -1, "region y");
	equal(data[0], -61, "padding");
	equal(data[12], 67, "white");
	equal(data[47], -61, "bottom padding");
});

test("RGB565 conversion", () => {
	const pixels = pixelsFromRgb565(Uint8Array.of(0xF8, 0x00, 0x84, 0x10), 2, 1, true);
	bytesEqual(pixels.data, Uint8Array.of(255, 0, 0, 132, 130, 132), "rgb");
});

test("privacy zones: a triangle mask, validation, canonical bytes", () => {
	const pixels = { width: 4, height: 4, data: new Uint8Array(48).fill(9) };
	maskZones(pixels, validateZones([{ points: [[0, 0], [1, 0], [0, 1]] }]));
	const mask = Array.from({ length: 16 }, (_, i) => pixels.data[i * 3] ? "." : "#").join("");
	equal(mask, "###.##..#.......", "mask");
	throws(() => validateZones([{ points: [[0, 0], [1, 2], [0, 1]] }]), /zones\[0\]\.points\[1\]\[1\]/);
	bytesEqual(encodeZones([{ points: [[0, 0], [1, 0], [0.5, 1]] }]),
		Uint8Array.of(0x44, 0x57, 0x5A, 0x31, 1, 3, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0x80, 0, 0xFF, 0xFF), "bytes");
});

test("a 640x480 frame with 8 zones of 32 points is masked in place", () => {
	const width = 640, height = 480;
	const pixels = { width, height, data: new Uint8Array(width * height * 3).fill(128) };
	const zones = [];
	for (let z = 0; z < 8; z++) {
		const points: [number, number][] = [];
		for (let p = 0; p < 32; p++) {
			const angle = 2 * Math.PI * p / 32;
			points.push([(z % 4 + 0.5) / 4 + 0.1 * Math.cos(angle), (Math.floor(z / 4) + 0.5) / 2 + 0.1 * Math.sin(angle)]);
		}
		zones.push({ points });
	}
	maskZones(pixels, validateZones(zones));
	// The first zone's centre (80, 120) is blank, the frame's centre is not.
	equal(pixels.data[(120 * width + 80) * 3], 0, "inside");
	equal(pixels.data[(240 * width + 320) * 3], 128, "outside");
});
