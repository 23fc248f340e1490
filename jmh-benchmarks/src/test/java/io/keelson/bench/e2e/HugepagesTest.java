package io.keelson.bench.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hugepage check over a fake /proc: what is reserved, free and mounted. */
class HugepagesTest {
  @TempDir
  Path proc;

  private Hugepages with(long nr, long free, boolean mounted) throws Exception {
    Files.createDirectories(proc.resolve("sys/vm"));
    Files.writeString(proc.resolve("sys/vm/nr_hugepages"), nr + "\n");
    Files.writeString(proc.resolve("meminfo"), "MemTotal:       24000000 kB\nHugePages_Total:    " + nr
        + "\nHugePages_Free:     " + free + "\nHugepagesize:       2048 kB\n");
    Files.writeString(proc.resolve("mounts"), "proc /proc proc rw 0 0\n"
        + (mounted ? "nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n" : ""));
    return new Hugepages(proc);
  }

  @Test
  void reservedFreeAndMountedIsReady() throws Exception {
    assertThat(with(1024, 1024, true).ensure()).isNull();
  }

  @Test
  void tooFewReservedPagesAreRaisedToWhatTheBenchmarkNeeds() throws Exception {
    Hugepages h = with(0, 600, true);
    assertThat(h.ensure()).isNull();
    assertThat(Files.readString(proc.resolve("sys/vm/nr_hugepages")).trim()).isEqualTo(String.valueOf(Hugepages.PAGES));
  }

  @Test
  void releasePutsBackTheReservationEnsureRaised() throws Exception {
    Hugepages h = with(16, 600, true);
    assertThat(h.ensure()).isNull();
    assertThat(h.ensure()).isNull(); // a second check must not forget the first value
    assertThat(Files.readString(proc.resolve("sys/vm/nr_hugepages")).trim()).isEqualTo(String.valueOf(Hugepages.PAGES));
    assertThat(h.release()).isNull();
    assertThat(Files.readString(proc.resolve("sys/vm/nr_hugepages")).trim()).isEqualTo("16");
  }

  @Test
  void releaseLeavesAReservationEnsureDidNotRaise() throws Exception {
    Hugepages h = with(2048, 2048, true);
    assertThat(h.ensure()).isNull();
    assertThat(h.release()).isNull();
    assertThat(Files.readString(proc.resolve("sys/vm/nr_hugepages")).trim()).isEqualTo("2048");
  }

  @Test
  void aReservationThatCannotBePutBackIsReportedWithTheCommand() throws Exception {
    Hugepages h = with(0, 600, true);
    assertThat(h.ensure()).isNull();
    Files.delete(proc.resolve("sys/vm/nr_hugepages"));
    Files.createDirectories(proc.resolve("sys/vm/nr_hugepages")); // writing to it now fails
    assertThat(h.release()).contains("could not put the hugepage reservation back to 0",
        "echo 0 > /proc/sys/vm/nr_hugepages");
  }

  @Test
  void tooFewFreePagesSayWhatIsMissingAndHowToFixIt() throws Exception {
    String why = with(1024, 100, true).ensure();
    assertThat(why).contains("100 free 2 MB hugepages", "512 needed", "nr_hugepages", "mount -t hugetlbfs");
    Hugepages raised = with(8, 100, true); // raised to 1024, but the kernel could not find the free pages
    assertThat(raised.ensure()).contains("100 free 2 MB hugepages");
    assertThat(Files.readString(proc.resolve("sys/vm/nr_hugepages")).trim()).as("put back").isEqualTo("8");
  }

  @Test
  void anUnreadableProcIsReportedNotThrown() {
    assertThat(new Hugepages(proc.resolve("missing")).ensure()).startsWith("cannot read or reserve hugepages");
  }
}
