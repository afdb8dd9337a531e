// The entry of `sockserve-demo` (bin/sockserve-demo.js imports the build of this file).
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    process.stderr.write(
      `sockserve-demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
