/*
 * The device configuration written once by the factory (or, in the
 * simulator, by the world playing the factory): where the broker is, what the
 * device is, how it records. Validated field by field on arrival and on every
 * boot; a bad configuration is refused with the name of the field. It is
 * kept in clear, in a record authenticated with the record key
 * (store/record): readable from the flash, not changeable.
 */
import type { FlashRegion } from "store/flash-region";
import { readRecord, writeRecord } from "store/record";
import { Sectors } from "store/layout";
import { utf8Decode, utf8Encode } from "util/bytes";
import { validateZones } from "detect/zones";
import type { PrivacyZone } from "detect/zones";

export interface Configuration {
	/** Username and password are for brokers without client certificates; never a default. */
	readonly broker: {
		readonly address: string;
		readonly port: number;
		readonly username?: string;
		readonly password?: string;
		/** TLS to the broker: the CA that signed the broker's certificate (PEM), the name it must carry. */
		readonly tls?: { readonly ca: string; readonly serverName: string };
	};
	readonly model: string;
	readonly hardwareRevision: string;
	/**
	 * What an event's clip holds: `preRollFrames` frames from before the
	 * trigger (a ring buffer the camera fills while it runs continuously; 0
	 * turns the camera off between events), then `frames` after it, both at
	 * `fps`. `timeoutMs` bounds the wait for the frames after the trigger.
	 */
	readonly burst: {
		readonly frames: number;
		readonly preRollFrames: number;
		readonly fps: number;
		readonly timeoutMs: number;
		readonly width: number;
		readonly height: number;
	};
	readonly keepAliveSeconds: number;
	/** On by default: a face makes a motion event a face event, with a thumbnail, all inside the sealed clip. */
	readonly faceDetection: boolean;
	/** Polygons (normalized 0..1 frame coordinates) blanked in every frame before detection and encoding. */
	readonly privacyZones: readonly PrivacyZone[];
}

const configurationSector = Sectors.configuration;

const defaults = Object.freeze({
	// 2 s of pre-roll and 4 s after the trigger, at 5 fps (docs/porting.md, memory budget).
	burst: Object.freeze({ frames: 20, preRollFrames: 10, fps: 5, timeoutMs: 8000, width: 320, height: 240 }),
	keepAliveSeconds: 30,
	hardwareRevision: "unknown",
});

function field<T>(value: unknown, name: string, check: (value: unknown) => boolean, fallback?: T): T {
	if (value === undefined) {
		if (fallback === undefined)
			throw new RangeError(`configuration: ${name} is required`);
		return fallback;
	}
	if (!check(value))
		throw new RangeError(`configuration: ${name} is invalid`);
	return value as T;
}

const isInteger = (low: number, high: number) => (value: unknown) => Number.isInteger(value) && (value as number) >= low && (value as number) <= high;
const hasControlCharacter = (text: string) => [...text].some((character) => character.charCodeAt(0) < 0x20);
const isText = (limit: number) => (value: unknown) => (typeof value === "string") && (value.length > 0) && (value.length <= limit) && !hasControlCharacter(value);

function optionalCredentials(broker: Record<string, unknown>): { username?: string; password?: string } {
	if ((broker.username === undefined) && (broker.password === undefined))
		return {};
	return {
		username: field<string>(broker.username, "broker.username", isText(128)),
		password: field<string>(broker.password, "broker.password", isText(256)),
	};
}

const pem = (label: string) => (value: unknown) => (typeof value === "string") && (value.length < 4000) && value.includes(`-----BEGIN ${label}`);

function optionalTls(broker: Record<string, unknown>): { tls?: { ca: string; serverName: string } } {
	if (broker.tls === undefined)
		return {};
	const tls = field<Record<string, unknown>>(broker.tls, "broker.tls", (value) => (typeof value === "object") && (value !== null));
	return {
		tls: Object.freeze({
			ca: field<string>(tls.ca, "broker.tls.ca", pem("CERTIFICATE")),
			serverName: field<string>(tls.serverName, "broker.tls.serverName", isText(253)),
		}),
	};
}

/** The largest frame privacy zones are applied to: 3.7 MB decoded. */
const maxMaskedPixels = 1280 * 960;

function privacyZones(value: unknown): PrivacyZone[] {
	try {
		return validateZones(value ?? []);
	}
	catch (error) {
		throw new RangeError(`configuration: privacyZones${(error as Error).message.replace(/^zones/, "")}`);
	}
}

/** Parses and validates a configuration message; throws RangeError naming the bad field. */
export function parseConfiguration(bytes: Uint8Array): Configuration {
	let json: Record<string, unknown>;
	try {
		json = JSON.parse(utf8Decode(bytes));
	}
	catch {
		throw new RangeError("configuration: not UTF-8 JSON");
	}
	if ((typeof json !== "object") || (json === null) || Array.isArray(json))
		throw new RangeError("configuration: not a JSON object");
	const broker = field<Record<string, unknown>>(json.broker, "broker", (value) => (typeof value === "object") && (value !== null));
	const burst = field<Record<string, unknown>>(json.burst, "burst", (value) => (typeof value === "object") && (value !== null), {});
	const zones = privacyZones(json.privacyZones);
	const width = field<number>(burst.width, "burst.width", isInteger(16, 2592), defaults.burst.width);
	const height = field<number>(burst.height, "burst.height", isInteger(16, 1944), defaults.burst.height);
	// Masking decodes the whole frame (RGB888) next to the burst in PSRAM.
	if (zones.length && (width * height > maxMaskedPixels))
		throw new RangeError(`configuration: privacyZones cannot be applied to ${width}x${height} frames on the device; at most ${maxMaskedPixels} pixels (1280x960)`);
	return Object.freeze({
		broker: Object.freeze({
			address: field<string>(broker.address, "broker.address", isText(253)),
			port: field<number>(broker.port, "broker.port", isInteger(1, 65535)),
			...optionalCredentials(broker),
			...optionalTls(broker),
		}),
		model: field<string>(json.model, "model", isText(64)),
		hardwareRevision: field<string>(json.hardwareRevision, "hardwareRevision", isText(32), defaults.hardwareRevision),
		burst: Object.freeze({
			frames: field<number>(burst.frames, "burst.frames", isInteger(1, 30), defaults.burst.frames),
			preRollFrames: field<number>(burst.preRollFrames, "burst.preRollFrames", isInteger(0, 30), defaults.burst.preRollFrames),
			fps: field<number>(burst.fps, "burst.fps", isInteger(1, 15), defaults.burst.fps),
			timeoutMs: field<number>(burst.timeoutMs, "burst.timeoutMs", isInteger(100, 60000), defaults.burst.timeoutMs),
			width,
			height,
		}),
		keepAliveSeconds: field<number>(json.keepAliveSeconds, "keepAliveSeconds", isInteger(5, 3600), defaults.keepAliveSeconds),
		faceDetection: field<boolean>(json.faceDetection, "faceDetection", (value) => typeof value === "boolean", true),
		privacyZones: Object.freeze(zones),
	});
}

export function loadConfiguration(flash: FlashRegion): Configuration | undefined {
	const stored = readRecord(flash, configurationSector);
	return stored ? parseConfiguration(stored) : undefined;
}

export function storeConfiguration(flash: FlashRegion, configuration: Configuration): void {
	writeRecord(flash, configurationSector, utf8Encode(JSON.stringify(configuration)));
}
