/*
 * Draws the default scene: a front door seen from the doorbell, and a
 * visitor walking up to it over six frames. Synthetic on purpose: the
 * repository carries no photographs of people. Regenerate with
 *   node build/node/tools/scenes/render.js tools/scenes/default
 * (the output is deterministic; jpeg-js at quality 80).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import jpeg from "jpeg-js";

const width = 320;
const height = 240;

type Color = readonly [number, number, number];

function canvas(): Uint8Array {
	return new Uint8Array(width * height * 4);
}

function fill(pixels: Uint8Array, x0: number, y0: number, x1: number, y1: number, color: Color): void {
	for (let y = Math.max(0, Math.floor(y0)); y < Math.min(height, y1); y++) {
		for (let x = Math.max(0, Math.floor(x0)); x < Math.min(width, x1); x++) {
			const i = (y * width + x) * 4;
			pixels[i] = color[0];
			pixels[i + 1] = color[1];
			pixels[i + 2] = color[2];
			pixels[i + 3] = 255;
		}
	}
}

function disc(pixels: Uint8Array, cx: number, cy: number, r: number, color: Color): void {
	for (let y = Math.floor(cy - r); y <= cy + r; y++) {
		for (let x = Math.floor(cx - r); x <= cx + r; x++) {
			if (((x - cx) ** 2 + (y - cy) ** 2 <= r * r) && (x >= 0) && (y >= 0) && (x < width) && (y < height))
				fill(pixels, x, y, x + 1, y + 1, color);
		}
	}
}

function frame(step: number): Uint8Array {
	const pixels = canvas();
	fill(pixels, 0, 0, width, height, [196, 186, 170]); // wall
	fill(pixels, 0, 180, width, height, [120, 110, 100]); // porch
	fill(pixels, 110, 40, 210, 182, [92, 56, 36]); // door
	disc(pixels, 196, 112, 4, [210, 180, 60]); // handle
	// The visitor grows as they come closer: scale from far (0) to near (5).
	const scale = 0.45 + step * 0.11;
	const cx = 60 + step * 14;
	const head = 16 * scale;
	const feet = 182 + step * 8;
	const body = 110 * scale;
	fill(pixels, cx - 22 * scale, feet - body, cx + 22 * scale, feet, [40, 70, 130]); // coat
	disc(pixels, cx, feet - body - head, head, [224, 172, 140]); // face
	disc(pixels, cx - head * 0.35, feet - body - head * 1.1, head * 0.12, [30, 30, 30]); // eyes
	disc(pixels, cx + head * 0.35, feet - body - head * 1.1, head * 0.12, [30, 30, 30]);
	return pixels;
}

export function render(folder: string, frames = 6): string[] {
	const out = resolve(folder);
	mkdirSync(join(out, "frames"), { recursive: true });
	const names: string[] = [];
	for (let step = 0; step < frames; step++) {
		const name = `frames/visitor-${step}.jpg`;
		const encoded = jpeg.encode({ data: frame(step), width, height }, 80);
		writeFileSync(join(out, name), encoded.data);
		names.push(name);
	}
	return names;
}

if (process.argv[1]?.endsWith("render.js")) {
	const folder = process.argv[2];
	if (!folder) {
		process.stderr.write("usage: node build/node/tools/scenes/render.js FOLDER\n");
		process.exit(2);
	}
	for (const name of render(folder))
		process.stdout.write(`${name}\n`);
}
