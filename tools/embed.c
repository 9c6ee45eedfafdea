/*
 * embed.c: build-time helper that turns a file into a C array, so that
 * documents kept in the tree (the OpenAPI JSON) are compiled into the
 * binary and served byte for byte.
 *
 * usage: kg-embed SYMBOL FILE > out.c
 * defines: const char SYMBOL[] (NUL-terminated) and const size_t SYMBOL_len.
 */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char *argv[])
{
	FILE	*f;
	int	 c;
	size_t	 n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: kg-embed SYMBOL FILE\n");
		return 2;
	}
	if ((f = fopen(argv[2], "rb")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	printf("/* generated from %s by kg-embed: do not edit */\n", argv[2]);
	printf("#include <stddef.h>\n");
	printf("extern const char %s[];\nextern const size_t %s_len;\n",
	    argv[1], argv[1]);
	printf("const char %s[] = {", argv[1]);
	while ((c = fgetc(f)) != EOF) {
		printf("%s0x%02x,", n % 16 == 0 ? "\n\t" : " ", c);
		n++;
	}
	if (ferror(f)) {
		perror(argv[2]);
		fclose(f);
		return 1;
	}
	fclose(f);
	printf("\n\t0x00\n};\nconst size_t %s_len = %zu;\n", argv[1], n);
	return ferror(stdout) ? 1 : 0;
}
