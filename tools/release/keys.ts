/*
 * Release key files. A key's role (development or production) is written
 * into its file when it is made and never changes: the tools refuse to sign
 * a production release with a development key, and the device refuses one
 * anyway (docs/protocol/update.md, "Channels and roles").
 *
 *   NAME.key  {"type":"doorward-release-key","version":1,"role","name","seed","publicKey"}, mode 0600
 *   NAME.pub  {"type":"doorward-release-public-key","version":1,"role","name","publicKey"}
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ReleaseError, hex } from "./format.js";
import type { Channel, PublicKey, SecretKey } from "./format.js";

const SECRET_TYPE = "doorward-release-key";
const PUBLIC_TYPE = "doorward-release-public-key";

export function parseRole(text: string | undefined): Channel {
	if ((text === "development") || (text === "production"))
		return text;
	throw new ReleaseError(`role ${JSON.stringify(text)}: development or production`);
}

function checkName(name: string): void {
	if (!/^[A-Za-z0-9._-]{1,64}$/.test(name) || name.startsWith("."))
		throw new ReleaseError(`key name ${JSON.stringify(name)}: 1 to 64 of A-Z, a-z, 0-9, ".", "_", "-", not starting with "."`);
}

export function createKey(name: string, role: Channel): SecretKey {
	checkName(name);
	const seed = ed25519.utils.randomSecretKey();
	return { name, role, seed, publicKey: ed25519.getPublicKey(seed) };
}

/** Writes DIR/NAME.key (0600) and DIR/NAME.pub; never overwrites either. Returns their paths. */
export function writeKeyFiles(folder: string, key: SecretKey): { secretFile: string; publicFile: string } {
	mkdirSync(folder, { recursive: true, mode: 0o700 });
	const secretFile = join(folder, `${key.name}.key`);
	const publicFile = join(folder, `${key.name}.pub`);
	const common = { version: 1, role: key.role, name: key.name, publicKey: hex(key.publicKey) };
	try {
		writeFileSync(secretFile, `${JSON.stringify({ type: SECRET_TYPE, ...common, seed: hex(key.seed) }, null, "\t")}\n`, { mode: 0o600, flag: "wx" });
		chmodSync(secretFile, 0o600);	// whatever the umask
		writeFileSync(publicFile, `${JSON.stringify({ type: PUBLIC_TYPE, ...common }, null, "\t")}\n`, { mode: 0o644, flag: "wx" });
	}
	catch (error) {
		if ((error as NodeJS.ErrnoException).code === "EEXIST")
			throw new ReleaseError(`${(error as NodeJS.ErrnoException).path}: exists; refusing to overwrite a key`);
		throw error;
	}
	return { secretFile, publicFile };
}

interface KeyJson {
	type?: unknown;
	version?: unknown;
	role?: unknown;
	name?: unknown;
	seed?: unknown;
	publicKey?: unknown;
}

function readKeyJson(file: string): KeyJson {
	let text: string;
	try {
		text = readFileSync(file, "utf8");
	}
	catch (error) {
		throw new ReleaseError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code})`);
	}
	try {
		const json = JSON.parse(text) as KeyJson;
		if ((typeof json === "object") && (json !== null))
			return json;
	}
	catch {
		// reported below
	}
	throw new ReleaseError(`${file}: not a Doorward release key file`);
}

function hex32(value: unknown, file: string, field: string): Uint8Array {
	if ((typeof value !== "string") || !/^[0-9a-f]{64}$/.test(value))
		throw new ReleaseError(`${file}: ${field} is not 64 hex digits`);
	return new Uint8Array(Buffer.from(value, "hex"));
}

/** A signing key: only a .key file, and its public key must be its seed's. */
export function loadSecretKey(file: string): SecretKey {
	const json = readKeyJson(file);
	if (json.type === PUBLIC_TYPE)
		throw new ReleaseError(`${file}: a public key; signing needs the .key file`);
	if ((json.type !== SECRET_TYPE) || (json.version !== 1))
		throw new ReleaseError(`${file}: not a Doorward release key file`);
	const seed = hex32(json.seed, file, "seed");
	const publicKey = hex32(json.publicKey, file, "publicKey");
	if (hex(ed25519.getPublicKey(seed)) !== hex(publicKey))
		throw new ReleaseError(`${file}: the public key does not match the seed`);
	return { role: parseRole(json.role as string), name: String(json.name ?? ""), seed, publicKey };
}

/** A public key, from a .pub or a .key file. */
export function loadPublicKey(file: string): PublicKey {
	const json = readKeyJson(file);
	if (json.type === SECRET_TYPE) {
		const { role, name, publicKey } = loadSecretKey(file);
		return { role, name, publicKey };
	}
	if ((json.type !== PUBLIC_TYPE) || (json.version !== 1))
		throw new ReleaseError(`${file}: not a Doorward release key file`);
	return { role: parseRole(json.role as string), name: String(json.name ?? ""), publicKey: hex32(json.publicKey, file, "publicKey") };
}
