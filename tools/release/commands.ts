/*
 * `doorward release ...`: the release tools. Keys, roots and bundles as
 * docs/protocol/update.md specifies them; `say` gets diagnostics (stderr),
 * `print` gets results (stdout). Errors a person can act on are one line and
 * a non-zero exit code: 1 for a refusal or a failed check, 2 for bad usage.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";
import {
	LIMITS, ReleaseError, encodeBundle, encodeManifest, encodeRoot, hex, parseBundle, parseRootFile, parseVersionText,
	releaseKeysOf, rootKeysOf, sha256, signMessage, tally, tallyRotation, versionText,
} from "./format.js";
import type { Channel, ManifestFields, RootFields, RootKeyFields, SecretKey, SignedMessage, Tally } from "./format.js";
import { createKey, loadPublicKey, loadSecretKey, parseRole, writeKeyFiles } from "./keys.js";
import { packSimImage } from "./sim-image.js";
import { offerBundle } from "./offer.js";
import { simulatorBuild } from "../build/firmware.js";

export const releaseUsage = `usage: doorward release <command>

  keygen --out DIR [--name NAME] [--role development|production]
        a signing key: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub
        (the role is fixed in the key; default development)
  sign --key KEY... --version MAJOR.MINOR.PATCH --security-version S --model M
       [--expires DATE|+DAYSd] [--target DEVICE_ID...] [--channel C]
       [--root-update ROOT...] [--root ROOT] IMAGE -o BUNDLE
        a bundle for IMAGE, signed by each KEY; with --root, checked against
        that root's release threshold before it is written
  cosign FILE --key KEY... -o OUT
        adds signatures to a bundle's manifest or to a root file
  inspect FILE [--root ROOT]
        prints a bundle or root file and checks its signatures; with --root,
        checks it as a device trusting ROOT would
  offer BUNDLE --broker mqtt[s]://HOST:PORT --topic-id ID [--username U --password P] [--ca F --cert F --key F]
        offers a bundle to one device over MQTT, on dw/ID/up (src/update/delivery.ts)
  sim-image [--version MAJOR.MINOR.PATCH] [--modules MAP] -o IMAGE
        the simulator's firmware image: the compiled modules of MAP (default
        build/sim/modules.txt) in one archive, to sign with \`sign\`
  root init --channel C --release-key PUB... --root-key PUB...
            --release-threshold K --root-threshold K --key KEY... [--partial] -o ROOT
        the first root (version 1), signed by its own root keys
  root rotate --from ROOT --release-key PUB... --root-key PUB...
              --release-threshold K --root-threshold K --key KEY... [--partial] -o ROOT
        the next root, signed by the old root's root keys and the new one's
`;

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: T) {
	return parseArgs({ args, options, strict: true, allowPositionals: true });
}

function readFile(file: string, what: string): Uint8Array {
	try {
		return new Uint8Array(readFileSync(file));
	}
	catch (error) {
		throw new ReleaseError(`${file}: cannot read the ${what} (${(error as NodeJS.ErrnoException).code})`);
	}
}

function writeFile(file: string, bytes: Uint8Array): void {
	try {
		writeFileSync(file, bytes);
	}
	catch (error) {
		throw new ReleaseError(`${file}: cannot write (${(error as NodeJS.ErrnoException).code})`);
	}
}

function wholeNumber(text: string | undefined, what: string, max: number): number {
	if ((text === undefined) || !/^\d{1,10}$/.test(text) || (Number(text) > max))
		throw new UsageError(`${what} ${text ?? "(missing)"}: a whole number from 0 to ${max}`);
	return Number(text);
}

/** `+90d` or an ISO 8601 date or date-time; seconds since the epoch, in the future. */
export function parseExpiry(text: string, now = Date.now()): number {
	const relative = /^\+(\d{1,5})d$/.exec(text);
	const milliseconds = relative ? now + Number(relative[1]) * 86400000 : (/^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN);
	if (!Number.isFinite(milliseconds))
		throw new UsageError(`--expires ${text}: a date (2027-01-31, or with a time) or +DAYSd`);
	const seconds = Math.floor(milliseconds / 1000);
	if (seconds * 1000 <= now)
		throw new ReleaseError(`--expires ${text}: already past; a device would refuse it`);
	if (seconds > 0xFFFFFFFF)
		throw new UsageError(`--expires ${text}: after 2106`);
	return seconds;
}

/** The channel the keys sign for: given, or their common role. A development key never signs production. */
function channelFor(keys: readonly SecretKey[], given: string | undefined): Channel {
	const channel = (given === undefined) ? keys[0].role : parseRole(given);
	for (const key of keys) {
		if (key.role === channel)
			continue;
		if (channel === "production")
			throw new ReleaseError(`key ${key.name || hex(key.publicKey)} is a development key; a development key can never sign for production`);
		throw new ReleaseError(`key ${key.name || hex(key.publicKey)} is a production key; keep production keys out of development releases`);
	}
	return channel;
}

function loadSecretKeys(files: string[] | undefined): SecretKey[] {
	if (!files?.length)
		throw new UsageError("at least one --key KEY is required");
	return files.map(loadSecretKey);
}

/* ---- keygen ---- */

function keygen(args: string[], say: (line: string) => void): number {
	const { values, positionals } = parse(args, { out: { type: "string" }, name: { type: "string", default: "release" }, role: { type: "string", default: "development" } });
	if (!values.out || positionals.length)
		throw new UsageError("release keygen: --out DIR is required, and nothing else");
	const key = createKey(values.name!, parseRole(values.role));
	const { secretFile, publicFile } = writeKeyFiles(values.out, key);
	say(`${key.role} key ${key.name}: ${hex(key.publicKey)}; secret in ${secretFile} (mode 0600), public in ${publicFile}`);
	return 0;
}

/* ---- sign and cosign ---- */

function loadRootChain(rootFile: string | undefined, updates: readonly SignedMessage<RootFields>[]): RootFields | undefined {
	if (rootFile === undefined)
		return undefined;
	let root = parseRootFile(readFile(rootFile, "root"), rootFile).fields;
	for (const update of updates) {
		const result = tallyRotation(root, update);
		if (!result.ok)
			throw new ReleaseError(`root update to ${update.fields.version} is not accepted by root ${root.version}: ${result.problem ?? signatureProblem(result)}`);
		root = update.fields;
	}
	return root;
}

function signatureProblem(result: Tally): string {
	const bad = result.statuses.map((status, index) => ({ status, index })).filter(({ status }) => status !== "valid");
	return bad.length ? bad.map(({ status, index }) => `signature ${index}: ${status}`).join(", ") : `valid signatures per group: ${result.counts.join(", ")}`;
}

function sign(args: string[], say: (line: string) => void): number {
	const { values, positionals } = parse(args, {
		key: { type: "string", multiple: true },
		version: { type: "string" },
		"security-version": { type: "string" },
		model: { type: "string" },
		expires: { type: "string", default: "+90d" },
		target: { type: "string", multiple: true },
		channel: { type: "string" },
		"root-update": { type: "string", multiple: true },
		root: { type: "string" },
		out: { type: "string", short: "o" },
	});
	if ((positionals.length !== 1) || !values.out || !values.version || !values.model)
		throw new UsageError("release sign: IMAGE, -o BUNDLE, --version, --security-version, --model and --key are required");
	const keys = loadSecretKeys(values.key);
	const channel = channelFor(keys, values.channel);
	const image = readFile(positionals[0], "image");
	const manifest: ManifestFields = {
		channel,
		model: values.model,
		version: parseVersionText(values.version),
		securityVersion: wholeNumber(values["security-version"], "--security-version", LIMITS.securityVersion),
		expires: parseExpiry(values.expires!),
		imageSize: image.length,
		imageDigest: sha256(image),
		targets: (values.target ?? []).map((target) => target.toLowerCase()),
	};
	const rootUpdates = (values["root-update"] ?? []).map((file) => parseRootFile(readFile(file, "root update"), file));
	const signedManifest = signMessage("manifest", encodeManifest(manifest), keys);
	const bundle = encodeBundle(rootUpdates.map((root) => root.bytes), signedManifest, image);
	const root = loadRootChain(values.root, rootUpdates);
	if (root) {
		const parsed = parseBundle(bundle);
		const result = tally(parsed.manifest, root.channel, [{ keys: releaseKeysOf(root), threshold: root.releaseThreshold }]);
		if (!result.ok)
			throw new ReleaseError(`root ${root.version} would refuse this bundle: ${signatureProblem(result)} (threshold ${root.releaseThreshold}); nothing written`);
	}
	writeFile(values.out, bundle);
	say(`${channel} bundle ${values.out}: ${values.model} ${versionText(manifest.version)}, security version ${manifest.securityVersion}, ${image.length}-byte image, ${keys.length} signature(s), expires ${new Date(manifest.expires * 1000).toISOString()}`);
	return 0;
}

function cosign(args: string[], say: (line: string) => void): number {
	const { values, positionals } = parse(args, { key: { type: "string", multiple: true }, out: { type: "string", short: "o" } });
	if ((positionals.length !== 1) || !values.out)
		throw new UsageError("release cosign: FILE, --key KEY and -o OUT are required");
	const keys = loadSecretKeys(values.key);
	const bytes = readFile(positionals[0], "file");
	const kind = Buffer.from(bytes.subarray(0, 4)).toString("latin1");
	if (kind === "DWR1") {
		const root = parseRootFile(bytes, positionals[0]);
		channelFor(keys, root.fields.channel);
		writeFile(values.out, signMessage("root", root.body, keys, root.signatures));
		say(`root ${root.fields.version}: ${root.signatures.length + keys.length} signature(s), written to ${values.out}`);
		return 0;
	}
	const bundle = parseBundle(bytes, positionals[0]);
	channelFor(keys, bundle.manifest.fields.channel);
	const manifest = signMessage("manifest", bundle.manifest.body, keys, bundle.manifest.signatures);
	writeFile(values.out, encodeBundle(bundle.roots.map((root) => root.bytes), manifest, bundle.image));
	say(`bundle: ${bundle.manifest.signatures.length + keys.length} manifest signature(s), written to ${values.out}`);
	return 0;
}

/* ---- root ---- */

/** The keys a new root lists: each public key once, with the uses it was given. */
function rootKeys(releaseFiles: string[] | undefined, rootFiles: string[] | undefined): RootKeyFields[] {
	const byKey = new Map<string, RootKeyFields>();
	const add = (file: string, use: "release" | "root") => {
		const key = loadPublicKey(file);
		const id = hex(key.publicKey);
		const entry = byKey.get(id) ?? { role: key.role, publicKey: key.publicKey, release: false, root: false };
		entry[use] = true;
		byKey.set(id, entry);
	};
	(releaseFiles ?? []).forEach((file) => add(file, "release"));
	(rootFiles ?? []).forEach((file) => add(file, "root"));
	return [...byKey.values()];
}

const rootOptions = {
	channel: { type: "string" },
	from: { type: "string" },
	"release-key": { type: "string", multiple: true },
	"root-key": { type: "string", multiple: true },
	"release-threshold": { type: "string" },
	"root-threshold": { type: "string" },
	key: { type: "string", multiple: true },
	partial: { type: "boolean", default: false },
	out: { type: "string", short: "o" },
} as const;

function root(args: string[], say: (line: string) => void): number {
	const [action, ...rest] = args;
	if ((action !== "init") && (action !== "rotate"))
		throw new UsageError(`release root ${action ?? ""}: init or rotate`);
	const { values, positionals } = parse(rest, rootOptions);
	if (positionals.length || !values.out)
		throw new UsageError(`release root ${action}: -o ROOT is required`);
	let previous: RootFields | undefined;
	if (action === "rotate") {
		if (!values.from || values.channel)
			throw new UsageError("release root rotate: --from ROOT is required; the channel is the old root's and cannot change");
		previous = parseRootFile(readFile(values.from, "root"), values.from).fields;
	}
	else if (values.from)
		throw new UsageError("release root init: makes the first root; --from belongs to rotate");
	const channel = previous?.channel ?? parseRole(values.channel);
	const keys = rootKeys(values["release-key"], values["root-key"]);
	const fields: RootFields = {
		channel,
		version: previous ? previous.version + 1 : 1,
		releaseThreshold: wholeNumber(values["release-threshold"], "--release-threshold", LIMITS.keys),
		rootThreshold: wholeNumber(values["root-threshold"], "--root-threshold", LIMITS.keys),
		keys,
	};
	const signers = loadSecretKeys(values.key);
	channelFor(signers, channel);
	const bytes = signMessage("root", encodeRoot(fields), signers);
	const signed = parseRootFile(bytes);
	const result = previous ? tallyRotation(previous, signed) : tally(signed, channel, [{ keys: rootKeysOf(fields), threshold: fields.rootThreshold }]);
	if (!result.ok && !values.partial)
		throw new ReleaseError(`root ${fields.version} is not accepted yet: ${signatureProblem(result)}; sign with more root keys, or write it with --partial and add them with release cosign`);
	writeFile(values.out, bytes);
	say(`${channel} root ${fields.version}: ${keys.length} key(s), release threshold ${fields.releaseThreshold}, root threshold ${fields.rootThreshold}, ${signers.length} signature(s)${result.ok ? "" : " (partial: not yet accepted)"}, written to ${values.out}`);
	return 0;
}

/* ---- inspect ---- */

function printRoot(root: SignedMessage<RootFields>, heading: string, print: (line: string) => void): void {
	const fields = root.fields;
	print(`${heading}: root ${fields.version}, ${fields.channel}, release threshold ${fields.releaseThreshold} of ${releaseKeysOf(fields).length}, root threshold ${fields.rootThreshold} of ${rootKeysOf(fields).length}`);
	for (const key of fields.keys)
		print(`  key ${hex(key.publicKey)} ${key.role} ${[key.release ? "release" : "", key.root ? "root" : ""].filter(Boolean).join("+")}`);
}

function printSignatures(message: SignedMessage<unknown>, result: Tally | undefined, print: (line: string) => void): void {
	message.signatures.forEach((entry, index) => {
		print(`  signature ${index}: ${entry.role} key ${hex(entry.publicKey)}: ${result ? result.statuses[index] : "(not checked: no --root)"}`);
	});
}

function inspect(args: string[], print: (line: string) => void): number {
	const { values, positionals } = parse(args, { root: { type: "string" } });
	if (positionals.length !== 1)
		throw new UsageError("release inspect: one FILE");
	const file = positionals[0];
	const bytes = readFile(file, "file");
	let trusted = values.root ? parseRootFile(readFile(values.root, "root"), values.root).fields : undefined;
	let failures = 0;
	const verdict = (result: Tally & { problem?: string }, what: string, threshold: string) => {
		if (result.ok)
			print(`${what}: accepted (${threshold})`);
		else {
			failures++;
			print(`${what}: REFUSED: ${result.problem ?? signatureProblem(result)} (${threshold})`);
		}
	};

	if (Buffer.from(bytes.subarray(0, 4)).toString("latin1") === "DWR1") {
		const root = parseRootFile(bytes, file);
		const result = trusted ? tallyRotation(trusted, root) : tally(root, root.fields.channel, [{ keys: rootKeysOf(root.fields), threshold: root.fields.rootThreshold }]);
		printRoot(root, `root file ${file}`, print);
		printSignatures(root, result, print);
		verdict(result, trusted ? `as the successor of root ${trusted.version}` : "self-signed by its root keys", trusted ? `root thresholds ${trusted.rootThreshold} and ${root.fields.rootThreshold}` : `root threshold ${root.fields.rootThreshold}`);
		return failures ? 1 : 0;
	}

	const bundle = parseBundle(bytes, file);
	print(`bundle ${file}: ${bytes.length} bytes: header ${bundle.headerLength}, ${bundle.roots.length} root update(s), image ${bundle.image.length}`);
	for (const [index, update] of bundle.roots.entries()) {
		const result = trusted ? tallyRotation(trusted, update) : undefined;
		printRoot(update, `root update ${index}`, print);
		printSignatures(update, result, print);
		if (result && trusted) {
			verdict(result, `root update ${index}`, `root thresholds ${trusted.rootThreshold} and ${update.fields.rootThreshold}`);
			trusted = update.fields;
		}
	}
	const manifest = bundle.manifest.fields;
	print(`manifest: ${manifest.channel} ${manifest.model} ${versionText(manifest.version)}, security version ${manifest.securityVersion}`);
	print(`  expires ${new Date(manifest.expires * 1000).toISOString()}${manifest.expires * 1000 <= Date.now() ? " (EXPIRED)" : ""}`);
	print(`  targets: ${manifest.targets.length ? manifest.targets.join(", ") : `every ${manifest.model}`}`);
	const digestMatches = (bundle.image.length === manifest.imageSize) && (hex(sha256(bundle.image)) === hex(manifest.imageDigest));
	print(`  image ${manifest.imageSize} bytes, SHA-256 ${hex(manifest.imageDigest)}: ${digestMatches ? "matches" : `DOES NOT MATCH the ${bundle.image.length} bytes that follow`}`);
	if (!digestMatches)
		failures++;
	const result = trusted ? tally(bundle.manifest, trusted.channel, [{ keys: releaseKeysOf(trusted), threshold: trusted.releaseThreshold }]) : undefined;
	if (result && trusted && (manifest.channel !== trusted.channel))
		Object.assign(result, { ok: false, problem: `a ${manifest.channel} manifest for a ${trusted.channel} root` });
	printSignatures(bundle.manifest, result, print);
	if (result && trusted)
		verdict(result, `manifest, under root ${trusted.version}`, `release threshold ${trusted.releaseThreshold}`);
	else
		print("manifest: signatures not checked against a root; give --root ROOT");
	return failures ? 1 : 0;
}

/* ---- sim-image ---- */

function simImage(args: string[], say: (line: string) => void): number {
	const { values, positionals } = parse(args, { version: { type: "string" }, modules: { type: "string" }, o: { type: "string", short: "o" } });
	if (!values.o || positionals.length)
		throw new UsageError("release sim-image: -o IMAGE is required, and nothing else");
	const version = (values.version === undefined) ? undefined : parseVersionText(values.version);
	const image = packSimImage(values.modules ?? simulatorBuild().moduleMap, version ? { version } : {});
	writeFile(values.o, image);
	say(`simulator image ${values.o}: ${image.length} bytes, SHA-256 ${hex(sha256(image))}`);
	return 0;
}

/* ---- offer ---- */

async function offer(args: string[], say: (line: string) => void): Promise<number> {
	const { values, positionals } = parse(args, {
		broker: { type: "string" }, "topic-id": { type: "string" }, username: { type: "string" }, password: { type: "string" },
		ca: { type: "string" }, cert: { type: "string" }, key: { type: "string" },
	});
	if ((positionals.length !== 1) || !values.broker || !values["topic-id"])
		throw new UsageError("release offer: BUNDLE, --broker mqtt[s]://HOST:PORT and --topic-id ID are required");
	const bundle = readFileSync(positionals[0]);
	const tls = values.ca ? { ca: readFileSync(values.ca), ...(values.cert && values.key ? { cert: readFileSync(values.cert), key: readFileSync(values.key) } : {}), rejectUnauthorized: true } : {};
	const credentials = values.username ? { username: values.username, password: values.password ?? "" } : {};
	const messages = await offerBundle(values.broker, values["topic-id"], bundle, { ...tls, ...credentials });
	say(`offered ${positionals[0]} (${bundle.length} bytes) to dw/${values["topic-id"]}/up in ${messages} messages`);
	return 0;
}

/* ---- the entry point ---- */

export async function releaseCommand(args: string[], say: (line: string) => void, print: (line: string) => void): Promise<number> {
	const [command, ...rest] = args;
	try {
		switch (command) {
		case "keygen":
			return keygen(rest, say);
		case "sign":
			return sign(rest, say);
		case "cosign":
			return cosign(rest, say);
		case "inspect":
			return inspect(rest, print);
		case "root":
			return root(rest, say);
		case "sim-image":
			return simImage(rest, say);
		case "offer":
			return await offer(rest, say);
		case undefined:
		case "help":
		case "--help":
			print(releaseUsage.trimEnd());
			return command ? 0 : 2;
		default:
			throw new UsageError(`unknown command ${command}`);
		}
	}
	catch (error) {
		if (error instanceof UsageError) {
			say(`doorward release: ${error.message}\n${releaseUsage}`);
			return 2;
		}
		if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
			say(`doorward release: ${(error as Error).message}`);
			return 2;
		}
		if (error instanceof ReleaseError) {
			say(`doorward release: ${error.message}`);
			return 1;
		}
		throw error;
	}
}
