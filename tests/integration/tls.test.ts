/*
 * The TLS socket (embedded:io/socket/tcp/tls: hardware/net/tls, the same
 * engine and socket the device runs, here over the simulator's TCP socket)
 * against a real broker, mosquitto with a TLS listener that requires client
 * certificates, and against Node TLS servers that present what an attacker
 * or a misconfigured broker would: each refusal must come with its reason.
 * Certificates are throwaway, made with openssl in a temporary folder
 * (tests/support/pki.ts). The firmware side is tests/xs/tls-probe.ts, run in
 * the XS host.
 *
 * Skipped, saying why, without /usr/sbin/mosquitto or openssl
 * (Debian: apt-get install mosquitto openssl).
 * DOORWARD_HOST_WRAPPER="valgrind -q" runs the host under valgrind;
 * DOORWARD_TLS_TRACE=1 prints what each probe reported.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { createServer, connect } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { TLSSocket, TlsOptions } from "node:tls";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { simulatorBuild } from "../../tools/build/firmware.js";
import { caExtensions, issue, serverExtensions } from "../support/pki.js";
import { startImpostor } from "../support/proxy.js";
import { waitFor } from "../support/wait.js";

const mosquittoPath = "/usr/sbin/mosquitto";
const build = simulatorBuild();

function missing(): string | undefined {
	if (!existsSync(mosquittoPath))
		return `mosquitto is not installed (${mosquittoPath}; apt-get install mosquitto): TLS tests skipped`;
	const openssl = spawnSync("openssl", ["version"], { encoding: "utf8" });
	if (openssl.error || (openssl.status !== 0))
		return "the openssl command is not installed (apt-get install openssl): TLS tests skipped";
	if (!existsSync(build.host))
		return `${build.host} is not built (npx doorward build): TLS tests skipped`;
	return undefined;
}
const skip = missing();

function openssl(folder: string, args: string[]): void {
	const run = spawnSync("openssl", args, { cwd: folder, encoding: "utf8" });
	if (run.status !== 0)
		throw new Error(`openssl ${args.join(" ")} failed:\n${run.stderr}`);
}

/** openssl ca's date format, `days` from now. */
function opensslDate(days: number): string {
	return `${new Date(Date.now() + days * 86400000).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

function accepting(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = connect(port, "127.0.0.1");
		socket.on("connect", () => {
			socket.destroy();
			resolve(true);
		});
		socket.on("error", () => resolve(false));
	});
}

interface Pki {
	folder: string;
	read(name: string): string;
}

let pki: Pki;
let broker: ChildProcess | undefined;
let brokerLog = "";
let port = 0;

before(async () => {
	if (skip)
		return;
	const folder = mkdtempSync(join(tmpdir(), "doorward-tls-"));
	issue(folder, "ca", "/CN=Doorward test ca", { extensions: caExtensions });
	issue(folder, "other-ca", "/CN=Doorward test other-ca", { extensions: caExtensions });
	const server = serverExtensions("127.0.0.1", "localhost");
	issue(folder, "server", "/CN=localhost", { issuer: "ca", extensions: server });
	issue(folder, "client", "/CN=doorward-probe", { issuer: "ca",
		extensions: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n" });
	openssl(folder, ["x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der"]);
	// What the refusal tests present, each one property away from a good chain.
	issue(folder, "intermediate", "/CN=Doorward test intermediate", { issuer: "ca", extensions: caExtensions });
	issue(folder, "via-intermediate", "/CN=localhost", { issuer: "intermediate", extensions: server });
	issue(folder, "not-a-ca", "/CN=Doorward test not-a-ca", { issuer: "ca",
		extensions: "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyCertSign,cRLSign\n" });
	issue(folder, "via-not-a-ca", "/CN=localhost", { issuer: "not-a-ca", extensions: server });
	issue(folder, "no-constraints", "/CN=Doorward test no-constraints", { issuer: "ca", extensions: "keyUsage=critical,keyCertSign,cRLSign\n" });
	issue(folder, "via-no-constraints", "/CN=localhost", { issuer: "no-constraints", extensions: server });
	issue(folder, "attacker", "/CN=localhost", { extensions: server });
	issue(folder, "expired", "/CN=localhost", { issuer: "ca", extensions: server, notBefore: opensslDate(-3), notAfter: opensslDate(-1) });
	issue(folder, "sha1", "/CN=localhost", { issuer: "ca", extensions: server, digest: "sha1" });
	issue(folder, "md5", "/CN=localhost", { issuer: "ca", extensions: server, digest: "md5" });
	issue(folder, "short-key", "/CN=localhost", { issuer: "ca", extensions: server, bits: 1024 });
	pki = { folder, read: (name) => readFileSync(join(folder, name), "utf8") };

	port = await freePort();
	writeFileSync(join(folder, "mosquitto.conf"), [
		`user ${userInfo().username}`,	// as root, mosquitto would switch to "mosquitto", who cannot read this folder
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"log_type notice",
		"log_type information",
		"per_listener_settings false",
		"allow_anonymous false",
		`listener ${port} 127.0.0.1`,
		`cafile ${join(folder, "ca.pem")}`,
		`certfile ${join(folder, "server.pem")}`,
		`keyfile ${join(folder, "server.key")}`,
		"require_certificate true",
		"use_identity_as_username true",
		"",
	].join("\n"));
	broker = spawn(mosquittoPath, ["-c", join(folder, "mosquitto.conf")], { stdio: ["ignore", "ignore", "pipe"] });
	broker.stderr!.setEncoding("utf8");
	broker.stderr!.on("data", (text: string) => { brokerLog += text; });
	let exited = false;
	broker.on("exit", () => { exited = true; });
	let ready = false;
	await waitFor("mosquitto to listen", () => {
		if (exited)
			throw new Error(`mosquitto exited:\n${brokerLog}`);
		if (!ready)
			void accepting(port).then((yes) => { ready ||= yes; });
		return ready || undefined;
	}, 10000);
});

after(() => {
	broker?.kill();
	if (pki)
		rmSync(pki.folder, { recursive: true, force: true });
});

interface ProbeRun {
	lines: string[];
	status: number | null;
	output: string;
}

function probe(settings: Record<string, unknown>): Promise<ProbeRun> {
	const wrapper = process.env.DOORWARD_HOST_WRAPPER?.split(" ").filter(Boolean) ?? [];
	const command = [...wrapper, build.host, "--modules", build.testModuleMap, "--main", "tests/tls-probe", "--", JSON.stringify({ port, ...settings })];
	return new Promise((resolve, reject) => {
		const child = spawn(command[0], command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
		let output = "";
		child.stdout!.setEncoding("utf8");
		child.stderr!.setEncoding("utf8");
		child.stdout!.on("data", (text: string) => { output += text; });
		child.stderr!.on("data", (text: string) => { output += text; });
		const timer = setTimeout(() => child.kill(), 60000);
		child.on("error", reject);
		child.on("close", (status) => {
			clearTimeout(timer);
			const lines = output.split("\n").filter((line) => line.startsWith("tls-probe ") || line.startsWith("xs-test "));
			if (process.env.DOORWARD_TLS_TRACE)
				console.log(lines.join("\n"));
			resolve({ lines, status, output });
		});
	});
}

function identity(): Record<string, unknown> {
	return { ca: pki.read("ca.pem"), cert: pki.read("client.pem"), key: pki.read("client.key") };
}

function show(run: ProbeRun): string {
	return `host said:\n${run.output}\nbroker said:\n${brokerLog.split("\n").slice(-15).join("\n")}`;
}

test("mutual TLS to mosquitto: CONNECT/CONNACK and a 40 KB message echoed, with the CA pinned as PEM", { skip }, async () => {
	const run = await probe({ mode: "mqtt", serverName: "localhost", ...identity() });
	assert.deepEqual(run.lines, ["tls-probe connack 0", "tls-probe echo 40000", "tls-probe closed"], show(run));
	assert.equal(run.status, 0, show(run));
});

test("mutual TLS with the CA pinned as DER (as Moddable passes it), 200 KB each way through the 16 KiB windows", { skip }, async () => {
	const caDer = readFileSync(join(pki.folder, "ca.der")).toString("hex");
	const run = await probe({ mode: "mqtt", serverName: "localhost", ...identity(), ca: undefined, caDer, payloadBytes: 200000 });
	assert.deepEqual(run.lines, ["tls-probe connack 0", "tls-probe echo 200000", "tls-probe closed"], show(run));
	assert.equal(run.status, 0, show(run));
});

test("a server certificate from another CA is refused: verification fails and onError says so", { skip }, async () => {
	const run = await probe({ mode: "mqtt", serverName: "localhost", ...identity(), ca: pki.read("other-ca.pem") });
	assert.equal(run.lines.length, 1, show(run));
	assert.match(run.lines[0], /^tls-probe error X509 - Certificate verification failed.*not correctly signed by the trusted CA/, show(run));
	assert.equal(run.status, 0, show(run));
});

test("a server certificate for another name is refused", { skip }, async () => {
	const run = await probe({ mode: "mqtt", serverName: "doorbell.example", ...identity() });
	assert.equal(run.lines.length, 1, show(run));
	assert.match(run.lines[0], /^tls-probe error X509 - Certificate verification failed.*(CN|name).*does not match/i, show(run));
});

test("the server name defaults to host (connecting to address)", { skip }, async () => {
	const run = await probe({ mode: "mqtt", host: "localhost", ...identity(), payloadBytes: 10 });
	assert.deepEqual(run.lines, ["tls-probe connack 0", "tls-probe echo 10", "tls-probe closed"], show(run));
	const wrong = await probe({ mode: "mqtt", host: "doorbell.example", ...identity() });
	assert.match(wrong.lines.join("\n"), /^tls-probe error X509 - Certificate verification failed/, show(wrong));
});

test("without a client certificate the broker refuses the handshake", { skip }, async () => {
	const run = await probe({ mode: "mqtt", serverName: "localhost", ca: pki.read("ca.pem") });
	assert.equal(run.lines.length, 1, show(run));
	// The broker's alert (40 in TLS 1.2, 116 in 1.3), or the reset that follows it.
	assert.match(run.lines[0], /^tls-probe error (SSL - A fatal alert message was received from our peer \(alert (40|116)|NET - )/, show(run));
	assert.match(brokerLog, /peer did not return a certificate/, show(run));
	assert.equal(run.status, 0, show(run));
});

test("a slow reader: writes wait for the socket, reads come in pieces, close_notify ends it", { skip }, async () => {
	const sendBytes = 3000000;
	const replyBytes = 300000;
	const patternByte = (i: number) => (i * 31 + (i >> 8)) & 255;	// as tests/xs/tls-probe.ts
	let received = 0;
	let intact = true;
	let authorized: boolean | undefined;
	const server = createTlsServer({
		key: pki.read("server.key"), cert: pki.read("server.pem"), ca: pki.read("ca.pem"),
		requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.2",
	}, (socket: TLSSocket) => {
		authorized = socket.authorized;
		socket.on("error", () => {});
		socket.on("data", (chunk: Buffer) => {
			for (let i = 0; i < chunk.length; i++)
				intact &&= chunk[i] === patternByte(received + i);
			received += chunk.length;
			if (received === sendBytes)
				socket.end(Buffer.from(Array.from({ length: replyBytes }, (_, i) => patternByte(i))));
		});
	});
	// Between the two, a TCP relay that stops reading for a while once the
	// stream is under way, so that the probe's socket buffer fills (a paused
	// TLS socket in Node keeps reading from TCP; a plain one does not).
	let paused = false;
	const relay = createServer((client) => {
		const upstream = connect((server.address() as { port: number }).port, "127.0.0.1");
		let forwarded = 0;
		client.on("data", (chunk: Buffer) => {
			upstream.write(chunk);
			forwarded += chunk.length;
			if (!paused && (forwarded > 200000)) {
				paused = true;
				client.pause();
				setTimeout(() => client.resume(), 700);
			}
		});
		client.on("end", () => upstream.end());
		upstream.pipe(client);
		client.on("error", () => upstream.destroy());
		upstream.on("error", () => client.destroy());
	});
	const listening = (what: typeof server | typeof relay) => new Promise<number>((resolve) => what.listen(0, "127.0.0.1", () => resolve((what.address() as { port: number }).port)));
	await listening(server);
	const relayPort = await listening(relay);
	try {
		const run = await probe({ mode: "stream", port: relayPort, serverName: "localhost", ...identity(), payloadBytes: sendBytes });
		assert.deepEqual(run.lines, [
			`tls-probe sent ${sendBytes} received ${replyBytes} intact`,
			"tls-probe error SSL - The peer notified us that the connection is going to be closed",
		], show(run));
		assert.ok(paused, "the relay paused");
		assert.equal(authorized, true, "the server verified the client certificate");
		assert.equal(received, sendBytes, "bytes the server received");
		assert.ok(intact, "the server received the stream intact");
	}
	finally {
		relay.close();
		server.close();
	}
});

test("closing during the connect and during the handshake frees the socket", { skip }, async () => {
	const run = await probe({ mode: "close-early", serverName: "localhost", ...identity() });
	assert.deepEqual(run.lines, ["tls-probe closed"], show(run));
	assert.equal(run.status, 0, show(run));
});

test("the constructor checks its options", { skip }, async (t) => {
	issue(pki.folder, "stranger", "/CN=stranger", { issuer: "other-ca", extensions: "basicConstraints=critical,CA:FALSE\n" });
	const run = await probe({ mode: "validate", ...identity(), otherKey: pki.read("stranger.key") });
	assert.ok(run.lines.length >= 10, show(run));
	for (const line of run.lines) {
		const passed = line.startsWith("xs-test ok ");
		const [name, reason] = line.replace(/^xs-test (not )?ok /, "").split(" :: ");
		await t.test(name, () => assert.ok(passed, reason));
	}
	assert.equal(run.status, 0, show(run));
});

/*
 * Refusals. Each server below is a Node TLS server presenting one bad
 * property, and the probe only handshakes (mode "handshake"): it must fail,
 * with a reason that names what was wrong. The first test is the control: a
 * good chain through an intermediate, served the same way, connects.
 */

/** `names`' certificates, PEM, in that order: what a server sends. */
function chain(...names: string[]): string {
	return names.map((name) => pki.read(`${name}.pem`)).join("");
}

/** A TLS server for the probe's handshake; SECLEVEL 0 lets OpenSSL present the weak certificates and versions under test. */
async function serve(options: TlsOptions): Promise<{ port: number; close(): Promise<void> }> {
	const server = createTlsServer({ ciphers: "DEFAULT@SECLEVEL=0", ...options }, (socket: TLSSocket) => socket.on("error", () => {}));
	server.on("tlsClientError", () => {});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	return {
		port: (server.address() as { port: number }).port,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}

/** The probe's one line after handshaking with a server that presents `cert` (PEM chain) with `key`. */
async function handshakeWith(options: TlsOptions, settings: Record<string, unknown> = {}): Promise<{ line: string; run: ProbeRun }> {
	const server = await serve(options);
	try {
		const run = await probe({ mode: "handshake", port: server.port, serverName: "localhost", ca: pki.read("ca.pem"), ...settings });
		assert.equal(run.lines.length, 1, show(run));
		assert.equal(run.status, 0, show(run));
		return { line: run.lines[0], run };
	}
	finally {
		await server.close();
	}
}

const verificationFailed = "tls-probe error X509 - Certificate verification failed";

test("control: a server certificate through an intermediate CA, served by Node, verifies", { skip }, async () => {
	const { line, run } = await handshakeWith({ key: pki.read("via-intermediate.key"), cert: chain("via-intermediate", "intermediate") });
	assert.equal(line, "tls-probe handshake", show(run));
});

test("the attacker's chain is refused: a self-signed certificate for the broker's name, followed by the real CA", { skip }, async () => {
	const { line, run } = await handshakeWith({ key: pki.read("attacker.key"), cert: chain("attacker", "ca") });
	assert.ok(line.startsWith(verificationFailed), show(run));
	assert.match(line, /not correctly signed by the trusted CA; certificate 0 "CN=localhost", self-signed\)$/, show(run));
});

test("an intermediate that is not a CA is refused: basicConstraints CA:FALSE, or none", { skip }, async () => {
	for (const intermediate of ["not-a-ca", "no-constraints"]) {
		const { line, run } = await handshakeWith({ key: pki.read(`via-${intermediate}.key`), cert: chain(`via-${intermediate}`, intermediate) });
		assert.ok(line.startsWith(verificationFailed), show(run));
		assert.match(line, /not correctly signed by the trusted CA; certificate 0 "CN=localhost", issued by a certificate that is not a CA \(basicConstraints CA:TRUE missing\)\)$/, show(run));
	}
});

test("an expired certificate is refused", { skip }, async () => {
	const { line, run } = await handshakeWith({ key: pki.read("expired.key"), cert: chain("expired") });
	assert.ok(line.startsWith(verificationFailed), show(run));
	assert.match(line, /The certificate validity has expired; certificate 0 "CN=localhost"\)$/, show(run));
});

test("certificates signed with SHA-1 or MD5 are refused", { skip }, async () => {
	for (const digest of ["sha1", "md5"]) {
		const { line, run } = await handshakeWith({ key: pki.read(`${digest}.key`), cert: chain(digest) });
		assert.ok(line.startsWith(verificationFailed), show(run));
		assert.match(line, /The certificate is signed with an unacceptable hash.*; certificate 0 "CN=localhost"\)$/, show(run));
	}
});

test("an RSA key under 2048 bits is refused", { skip }, async () => {
	const { line, run } = await handshakeWith({ key: pki.read("short-key.key"), cert: chain("short-key") });
	assert.ok(line.startsWith(verificationFailed), show(run));
	assert.match(line, /The certificate is signed with an unacceptable key.*; certificate 0 "CN=localhost"\)$/, show(run));
});

test("a server that speaks only TLS 1.1 is refused", { skip }, async () => {
	const { line, run } = await handshakeWith({ key: pki.read("server.key"), cert: chain("server"), minVersion: "TLSv1.1", maxVersion: "TLSv1.1" });
	assert.match(line, /^tls-probe error SSL - (Handshake protocol not within min\/max boundaries|A fatal alert message was received from our peer \(alert 70: protocol_version\))/, show(run));
});

test("a server that signs its key exchange with another key than its certificate's is refused; with the certificate's key it connects", { skip }, async () => {
	// The impostor (tests/support/proxy.ts) presents the real chain and runs a
	// complete TLS 1.2 ECDHE_RSA handshake; only the signing key differs.
	const der = (name: string) => Buffer.from(pki.read(`${name}.pem`).replace(/-----[^-]+-----|\s/g, ""), "base64");
	const attempt = async (signWith: ReturnType<typeof createPrivateKey>) => {
		const impostor = await startImpostor([der("server"), der("ca")], signWith);
		try {
			const run = await probe({ mode: "handshake", port: impostor.port, serverName: "localhost", ca: pki.read("ca.pem") });
			assert.equal(impostor.failure, undefined, show(run));
			assert.equal(run.lines.length, 1, show(run));
			return { line: run.lines[0], run, handshakes: impostor.handshakes };
		}
		finally {
			await impostor.close();
		}
	};
	const control = await attempt(createPrivateKey(pki.read("server.key")));
	assert.equal(control.line, "tls-probe handshake", show(control.run));
	assert.equal(control.handshakes, 1, "the impostor completed the control handshake");
	const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
	const { line, run, handshakes } = await attempt(privateKey);
	assert.match(line, /^tls-probe error .+ \(the server's key exchange: its signature must verify with the key of its certificate\)$/, show(run));
	assert.equal(handshakes, 0, "no handshake completed with the other key");
});
