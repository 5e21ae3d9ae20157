/**
 * A minimal POSIX ustar writer (IEEE Std 1003.1, "pax" format's ustar header) for the support
 * bundle: regular files and directories only, which GNU tar, bsdtar and Python's tarfile read.
 * No dependency: tar-stream is only a transitive dependency of dockerode, and a bundle needs
 * nothing more than this.
 */

const BLOCK_BYTES = 512;
const NAME_BYTES = 100;
const PREFIX_BYTES = 155;
const TYPE_FILE = '0';
const TYPE_DIRECTORY = '5';
const USTAR_MAGIC = 'ustar\0';
const USTAR_VERSION = '00';

export interface TarEntry {
  /** Path inside the archive, '/'-separated, no leading '/'. */
  readonly name: string;
  readonly data: Buffer;
  /** Default 0o644 (files). */
  readonly mode?: number;
  readonly mtimeMs?: number;
}

export class TarWriter {
  private readonly blocks: Buffer[] = [];
  private readonly directories = new Set<string>();

  /** Adds a file, and a directory entry for each parent not added yet (so extraction sets their modes). */
  addFile(entry: TarEntry): void {
    const parts = entry.name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = `${parts.slice(0, i).join('/')}/`;
      if (this.directories.has(dir)) continue;
      this.directories.add(dir);
      this.blocks.push(header(dir, 0, 0o755, entry.mtimeMs ?? Date.now(), TYPE_DIRECTORY));
    }
    this.blocks.push(header(entry.name, entry.data.length, entry.mode ?? 0o644, entry.mtimeMs ?? Date.now(), TYPE_FILE));
    this.blocks.push(entry.data);
    const padding = (BLOCK_BYTES - (entry.data.length % BLOCK_BYTES)) % BLOCK_BYTES;
    if (padding > 0) this.blocks.push(Buffer.alloc(padding));
  }

  /** The archive: every entry, then two zero blocks (the end-of-archive marker). */
  finish(): Buffer {
    return Buffer.concat([...this.blocks, Buffer.alloc(2 * BLOCK_BYTES)]);
  }
}

function header(path: string, size: number, mode: number, mtimeMs: number, type: string): Buffer {
  const block = Buffer.alloc(BLOCK_BYTES);
  const { name, prefix } = splitName(path);
  block.write(name, 0, NAME_BYTES, 'utf8');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0); // uid
  octal(block, 116, 8, 0); // gid
  octal(block, 124, 12, size);
  octal(block, 136, 12, Math.floor(mtimeMs / 1000));
  block.write('        ', 148, 8, 'ascii'); // checksum counted as spaces
  block.write(type, 156, 1, 'ascii');
  block.write(USTAR_MAGIC, 257, 6, 'ascii');
  block.write(USTAR_VERSION, 263, 2, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  block.write(prefix, 345, PREFIX_BYTES, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  // Six octal digits, NUL, space: the layout every tar writes.
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

/** ustar keeps up to 100 bytes in name and 155 more in prefix, split at a '/'. */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= NAME_BYTES) return { name: path, prefix: '' };
  const trailing = path.endsWith('/') ? 1 : 0;
  for (let cut = path.lastIndexOf('/', path.length - 1 - trailing); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
    const prefix = path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (Buffer.byteLength(prefix) <= PREFIX_BYTES && Buffer.byteLength(name) <= NAME_BYTES) return { name, prefix };
  }
  throw new Error(`path too long for a ustar archive: ${path}`);
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}
