// The librdkafka headers the Kafka module wraps. Nothing outside the Kafka
// module imports this system library.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
