/*
 * Makes the scenes' frames from photographs that a Debian package ships, so
 * the repository's frames can be regenerated and their source checked:
 *
 *   apt-get install python3-skimage
 *   node build/node/tools/scenes/render.js [--photos DIR] [--out tools/scenes]
 *
 * The photos are scikit-image's sample data (DIR defaults to the package's
 * /usr/lib/python3/dist-packages/skimage/data); each scene folder's
 * SOURCES.md says which photo, its author and its licence. Nothing here
 * fetches anything.
 *
 * Frames are 320x240 (the device's default burst size) at JPEG quality 40 with
 * jpeg-js: about what an OV2640 gives at QVGA (esp32-camera's jpeg_quality
 * 12), and small enough that a clip of a few frames fits an outbox slot
 * (store/outbox: 64 KiB). The output is deterministic.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { inflateSync } from "node:zlib";
import jpeg from "jpeg-js";

export const frameWidth = 320;
export const frameHeight = 240;
export const frameQuality = 40;
export const defaultPhotos = "/usr/lib/python3/dist-packages/skimage/data";

/** RGB, 3 bytes a pixel. */
export interface Picture {
	readonly width: number;
	readonly height: number;
	readonly data: Uint8Array;
}

/**
 * A PNG file's pixels: 8-bit greyscale, RGB, grey+alpha or RGBA, not
 * interlaced (what the sample photos are); alpha is dropped.
 */
export function decodePng(bytes: Uint8Array, name = "PNG"): Picture {
	const signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
	if ((bytes.length < 8) || signature.some((value, i) => bytes[i] !== value))
		throw new Error(`${name}: not a PNG file`);
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	let width = 0, height = 0, channels = 0;
	const compressed: Uint8Array[] = [];
	for (let at = 8; at + 8 <= bytes.length;) {
		const length = view.getUint32(at);
		const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
		const body = bytes.subarray(at + 8, at + 8 + length);
		if (body.length !== length)
			throw new Error(`${name}: chunk ${type} is truncated`);
		if (type === "IHDR") {
			width = view.getUint32(at + 8);
			height = view.getUint32(at + 12);
			const [depth, colour, , , interlace] = body.subarray(8, 13);
			channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colour] ?? 0;
			if ((depth !== 8) || !channels || interlace)
				throw new Error(`${name}: only 8-bit, non-interlaced greyscale or RGB(A) PNGs are read (depth ${depth}, colour type ${colour}, interlace ${interlace})`);
		}
		else if (type === "IDAT")
			compressed.push(body);
		else if (type === "IEND")
			break;
		at += 12 + length;
	}
	if (!width || !height || !compressed.length)
		throw new Error(`${name}: no image header or data`);
	const raw = inflateSync(Buffer.concat(compressed));
	const stride = width * channels;
	if (raw.length < (stride + 1) * height)
		throw new Error(`${name}: image data is short`);
	const rows = new Uint8Array(stride * height);
	for (let y = 0; y < height; y++) {
		const filter = raw[y * (stride + 1)];
		const line = raw.subarray((y * (stride + 1)) + 1, (y + 1) * (stride + 1));
		const out = y * stride;
		for (let x = 0; x < stride; x++) {
			const left = x >= channels ? rows[out + x - channels] : 0;
			const up = y ? rows[out - stride + x] : 0;
			const corner = (y && (x >= channels)) ? rows[out - stride + x - channels] : 0;
			let predicted: number;
			switch (filter) {
			case 0: predicted = 0; break;
			case 1: predicted = left; break;
			case 2: predicted = up; break;
			case 3: predicted = (left + up) >> 1; break;
			case 4: {
				const p = left + up - corner;
				const pa = Math.abs(p - left), pb = Math.abs(p - up), pc = Math.abs(p - corner);
				predicted = ((pa <= pb) && (pa <= pc)) ? left : (pb <= pc ? up : corner);
				break;
			}
			default:
				throw new Error(`${name}: row ${y} has unknown filter ${filter}`);
			}
			rows[out + x] = (line[x] + predicted) & 0xFF;
		}
	}
	const data = new Uint8Array(width * height * 3);
	for (let i = 0; i < width * height; i++) {
		for (let c = 0; c < 3; c++)
			data[(i * 3) + c] = rows[(i * channels) + (channels < 3 ? 0 : c)];
	}
	return { width, height, data };
}

/** The part x, y, w, h of `picture` (which may reach past its edges: they repeat) resampled to width x height by area averaging. */
export function resample(picture: Picture, part: { x: number; y: number; w: number; h: number }, width: number, height: number): Picture {
	const data = new Uint8Array(width * height * 3);
	const stepX = part.w / width, stepY = part.h / height;
	const samples = Math.max(1, Math.ceil(Math.max(stepX, stepY)));
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const sum = [0, 0, 0];
			for (let sy = 0; sy < samples; sy++) {
				const py = Math.min(picture.height - 1, Math.max(0, Math.floor(part.y + ((y + ((sy + 0.5) / samples)) * stepY))));
				for (let sx = 0; sx < samples; sx++) {
					const px = Math.min(picture.width - 1, Math.max(0, Math.floor(part.x + ((x + ((sx + 0.5) / samples)) * stepX))));
					for (let c = 0; c < 3; c++)
						sum[c] += picture.data[(((py * picture.width) + px) * 3) + c];
				}
			}
			for (let c = 0; c < 3; c++)
				data[(((y * width) + x) * 3) + c] = Math.round(sum[c] / (samples * samples));
		}
	}
	return { width, height, data };
}

/** A small deterministic generator (xorshift32), for sensor noise. */
function noise(seed: number): () => number {
	let state = seed >>> 0 || 1;
	return () => {
		state ^= state << 13;
		state >>>= 0;
		state ^= state >>> 17;
		state ^= state << 5;
		state >>>= 0;
		return state / 0x100000000;
	};
}

/** Camera-like: a little noise on every pixel (a real sensor never gives two equal frames), and a gain. */
function expose(picture: Picture, seed: number, amplitude: number, gain = 1): Picture {
	const random = noise(seed);
	const data = new Uint8Array(picture.data.length);
	for (let i = 0; i < data.length; i++)
		data[i] = Math.min(255, Math.max(0, Math.round((picture.data[i] * gain) + ((random() - 0.5) * 2 * amplitude))));
	return { ...picture, data };
}

function tint(picture: Picture, colour: readonly [number, number, number]): Picture {
	const data = new Uint8Array(picture.data.length);
	for (let i = 0; i < data.length; i++)
		data[i] = Math.round(picture.data[i] * colour[i % 3] / 255);
	return { ...picture, data };
}

export function encodeFrame(picture: Picture, quality = frameQuality): Buffer {
	const rgba = new Uint8Array(picture.width * picture.height * 4);
	for (let i = 0; i < picture.width * picture.height; i++) {
		rgba.set(picture.data.subarray(i * 3, (i * 3) + 3), i * 4);
		rgba[(i * 4) + 3] = 255;
	}
	return Buffer.from(jpeg.encode({ data: rgba, width: picture.width, height: picture.height }, quality).data);
}

function photo(folder: string, name: string): Picture {
	const file = join(folder, name);
	if (!existsSync(file))
		throw new Error(`${file} is missing: apt-get install python3-skimage (or pass --photos DIR)`);
	return decodePng(readFileSync(file), file);
}

/**
 * The visitor: NASA's portrait of Eileen Collins (astronaut.png, 512x512),
 * framed as the doorbell sees someone step up to the door: from the whole
 * upper body to head and shoulders, over six frames. Her face is about 70
 * to 140 px tall in the 320x240 frame.
 */
export function visitorFrames(folder: string): Picture[] {
	const astronaut = photo(folder, "astronaut.png");
	const zooms = [1.0, 1.12, 1.25, 1.4, 1.6, 1.8];
	// The face's centre in the photo, where the framing closes in.
	const centreX = 215, centreY = 130;
	return zooms.map((zoom, step) => {
		const w = 512 / zoom, h = w * frameHeight / frameWidth;
		const x = Math.min(512 - w, Math.max(0, centreX - (w / 2)));
		const y = Math.min(512 - h, Math.max(0, centreY - (h * 0.4)));
		return expose(resample(astronaut, { x, y, w, h }, frameWidth, frameHeight), 101 + step, 1);
	});
}

/**
 * The empty porch: a brick wall over gravel (brick.png and gravel.png,
 * CC0), tinted, with no one there. The frames differ only by sensor noise
 * and a small change of light, as a still scene does on a real camera.
 */
export function porchFrames(folder: string): Picture[] {
	const brick = tint(resample(photo(folder, "brick.png"), { x: 0, y: 0, w: 512, h: 384 }, frameWidth, frameHeight), [214, 150, 120]);
	const gravel = tint(resample(photo(folder, "gravel.png"), { x: 0, y: 0, w: 512, h: 128 }, frameWidth, 60), [190, 180, 165]);
	const porch = new Uint8Array(brick.data);
	porch.set(gravel.data, (frameHeight - 60) * frameWidth * 3);
	const base: Picture = { width: frameWidth, height: frameHeight, data: porch };
	return [1.0, 1.0, 0.99, 0.98, 0.98, 0.99].map((gain, step) => expose(base, 201 + step, 1, gain));
}

export function render(photos: string, out: string): string[] {
	const written: string[] = [];
	const write = (scene: string, prefix: string, frames: Picture[]) => {
		mkdirSync(join(out, scene, "frames"), { recursive: true });
		frames.forEach((frame, index) => {
			const name = join(scene, "frames", `${prefix}-${index}.jpg`);
			writeFileSync(join(out, name), encodeFrame(frame));
			written.push(name);
		});
	};
	write("default", "visitor", visitorFrames(photos));
	write("empty", "porch", porchFrames(photos));
	return written;
}

if (process.argv[1]?.endsWith("render.js")) {
	const args = process.argv.slice(2);
	const option = (name: string) => {
		const at = args.indexOf(name);
		return at >= 0 ? args[at + 1] : undefined;
	};
	try {
		const out = resolve(option("--out") ?? "tools/scenes");
		for (const name of render(option("--photos") ?? defaultPhotos, out))
			process.stdout.write(`${name} ${readFileSync(join(out, name)).length} bytes\n`);
	}
	catch (error) {
		process.stderr.write(`render: ${(error as Error).message}\n`);
		process.exit(1);
	}
}
