// Runs a command with NORTHCA_MOCK_URL pointing at a mock. If NORTHCA_MOCK_URL is already set
// (a container, a shared server), it is used as is; otherwise `northca-mock serve --port 0` is
// started (from NORTHCA_MOCK_BIN, or `northca-mock` on PATH) and stopped when the command ends.
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node scripts/with-mock.mjs COMMAND [ARG...]");
  process.exit(2);
}

function run(env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, ...env } });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function startMock() {
  const bin = process.env.NORTHCA_MOCK_BIN ?? "northca-mock";
  const mock = spawn(bin, ["serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} did not start within 30 s`)), 30_000);
    let seen = "";
    mock.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${bin} (${error.message}): pip install northca-mock, or set NORTHCA_MOCK_URL`));
    });
    mock.stdout.on("data", (chunk) => {
      seen += chunk.toString();
      const url = /serving (http:\/\/\S+)/.exec(seen)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ mock, url });
      }
    });
    mock.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} exited with ${code} before serving:\n${seen}`));
    });
  });
}

let code;
if (process.env.NORTHCA_MOCK_URL) {
  code = await run({});
} else {
  const { mock, url } = await startMock();
  mock.stdout.resume();
  try {
    code = await run({ NORTHCA_MOCK_URL: url });
  } finally {
    mock.kill("SIGTERM");
  }
}
process.exit(code);
