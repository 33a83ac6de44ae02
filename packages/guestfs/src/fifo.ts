import { execFile } from 'node:child_process';
import { close as closeFd, constants, open as openFd } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';

const run = promisify(execFile);
const open = promisify(openFd);
const close = promisify(closeFd);

/**
 * A FIFO that guestfish writes a file's bytes into (`download`, `tar-out`), read without
 * blocking Node's thread pool. The reader is opened non-blocking before the command runs and
 * a writer fd of ours (`keeper`) stays open until the command has returned, so that the reader
 * sees no end before guestfish opens its side and sees the end once guestfish is done.
 */
export class FifoReader {
  readonly stream = new PassThrough();
  private socket: Socket | null = null;
  private keeper: number | null = null;
  private bytes = 0;
  private abandoned = false;

  private constructor(readonly path: string) {}

  static async create(path: string): Promise<FifoReader> {
    await run('mkfifo', ['-m', '0600', path]);
    const fifo = new FifoReader(path);
    const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    fifo.keeper = await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
    const socket = new Socket({ fd: reader, readable: true, writable: false });
    fifo.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      fifo.bytes += chunk.length;
      if (fifo.abandoned) socket.destroy(); // guestfish has the FIFO open now: its next write fails (EPIPE)
    });
    socket.pipe(fifo.stream);
    socket.on('error', (e) => fifo.stream.destroy(e));
    // A reader that stops early: close our end once guestfish has opened its own (its open
    // would block for ever with no reader), so that the command fails fast and the queue goes on.
    fifo.stream.on('close', () => {
      if (fifo.stream.readableEnded) return;
      fifo.abandoned = true;
      socket.unpipe(fifo.stream);
      if (fifo.bytes > 0) socket.destroy();
      else socket.resume();
    });
    return fifo;
  }

  /**
   * The command has returned: what is left in the pipe is the end of the data (the reader sees
   * its end once it has read it; we do not wait for that, a slow reader must not hold the
   * appliance), or the error ends the stream.
   */
  async finish(error?: Error): Promise<void> {
    if (this.keeper !== null) {
      const fd = this.keeper;
      this.keeper = null;
      await close(fd);
    }
    if (error && !this.abandoned) {
      this.socket?.destroy();
      this.stream.destroy(error);
    }
    await rm(this.path, { force: true }); // open fds keep working
  }

  get readable(): Readable {
    return this.stream;
  }
}
