"""The tutorial's concurrent downloader in Python, as bench/tools runs it:
one Thread per URL, a Semaphore(N) so that at most N transfer at once,
urllib's urlopen, each file read whole and then written, and a join of
every thread.

    python3 pydownload.py N DIR URLFILE

Exits 1 if any download failed.
"""
import os
import sys
import threading
import urllib.request


def main():
    jobs, out, url_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(url_file) as f:
        urls = [line.strip() for line in f if line.strip()]
    slots = threading.Semaphore(jobs)
    failed = []

    def fetch(url):
        with slots:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    data = response.read()
                name = os.path.join(out, url.rsplit("/", 1)[-1])
                with open(name, "wb") as f:
                    f.write(data)
            except OSError as e:
                failed.append(url)
                print(f"{url}: {e}", file=sys.stderr)

    threads = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
