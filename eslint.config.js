// One lint configuration for the firmware (XS), the tools and the tests (Node).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
	{ ignores: ["build/**", "node_modules/**", "out/**"] },
	js.configs.recommended,
	...tseslint.configs.recommended,
	{
		rules: {
			"@typescript-eslint/no-explicit-any": "error",
			"@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
			"no-constant-condition": ["error", { checkLoops: false }],
			eqeqeq: ["error", "always"],
		},
	},
	{
		// The firmware: XS globals only; Node and the DOM do not exist there.
		files: ["src/**/*.ts", "hardware/**/*.ts", "tests/xs/**/*.ts"],
		languageOptions: { globals: { trace: "readonly", native: "readonly", Native: "readonly", host: "readonly" } },
		rules: {
			"no-restricted-globals": ["error", "process", "Buffer", "require", "window", "document", "setTimeout", "setInterval"],
			"no-restricted-imports": ["error", { paths: ["fs", "path", "os", "net", "tls", "crypto", "child_process"], patterns: ["node:*"] }],
		},
	},
	{
		// XS's bridge to C is typed loosely by nature.
		files: ["hardware/xs/native.d.ts"],
		rules: { "@typescript-eslint/no-explicit-any": "off" },
	},
	{
		files: ["tools/**/*.{ts,mjs,js}", "tests/**/*.ts", "bin/**/*.js", "eslint.config.js"],
		languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", URL: "readonly", TextEncoder: "readonly" } },
	},
);
