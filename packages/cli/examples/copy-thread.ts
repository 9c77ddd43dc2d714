import { copyThreadAcross, resolveBackend } from "@langgraph-persist/cli";

const from = await resolveBackend("sqlite:./dev.db", { mustExist: true });
const to = await resolveBackend(process.env.DATABASE_URL!);
try {
  const target = await to.openSaver();
  await target.setup();
  await copyThreadAcross(await from.openSaver(), target, "thread-1");
} finally {
  await Promise.all([from.close(), to.close()]);
}
